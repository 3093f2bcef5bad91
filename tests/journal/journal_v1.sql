-- An opsbooks journal written by the code before the journal rebuild (commit 563b61a):
-- `sqlite3.Connection.iterdump()` of a file made with its `Journal` class. Do not edit
-- by hand beyond values; it proves that journals of that version still open.
BEGIN TRANSACTION;
CREATE TABLE gates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    prompt TEXT NOT NULL,
    answer TEXT NOT NULL,
    approver TEXT NOT NULL,
    source TEXT NOT NULL,
    asked_at REAL NOT NULL,
    answered_at REAL NOT NULL
);
INSERT INTO "gates" VALUES(1,'20260101-000000-aaaa','approve','confirm','Ship it?','true','bob','terminal',1767225603.0,1767225604.0);
CREATE TABLE host_results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL,
    host TEXT NOT NULL,
    ok INTEGER NOT NULL,
    exit_code INTEGER,
    duration REAL,
    output_tail TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
INSERT INTO "host_results" VALUES(1,'20260101-000000-aaaa','deploy','web1',1,0,0.75,'ok','',1767225606.0);
INSERT INTO "host_results" VALUES(2,'20260101-000000-aaaa','deploy','web2',0,255,NULL,'','unreachable',1767225607.0);
CREATE TABLE locks (
    runbook TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    acquired_at REAL NOT NULL
);
INSERT INTO "locks" VALUES('demo.book','20260102-000000-bbbb',4343,'ops1',1767312000.0);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema_version','1');
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    runbook TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    params TEXT NOT NULL,
    options TEXT NOT NULL,
    who TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT NOT NULL,
    failed_step TEXT,
    reason TEXT,
    audit_head TEXT,
    metrics TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO "runs" VALUES('20260101-000000-aaaa','demo.book','fp1','{"env": "prod"}','{"force": false}','alice','ops1',4242,1767225600.25,1767225609.0,'failed','deploy','web2 failed','abababababababababababababababababababababababababababababababab','{"steps": 2}');
INSERT INTO "runs" VALUES('20260102-000000-bbbb','demo.book','fp1','{}','{}','carol','ops1',4343,1767312000.0,NULL,'running',NULL,NULL,NULL,'{}');
CREATE TABLE transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at REAL NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    duration REAL,
    output_tail TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO "transitions" VALUES(1,'20260101-000000-aaaa','build','running',1767225601.0,1,NULL,NULL,'','','','{}');
INSERT INTO "transitions" VALUES(2,'20260101-000000-aaaa','build','succeeded',1767225602.5,0,0,1.5,'built','','','{"outputs": {"version": "1.2"}}');
INSERT INTO "transitions" VALUES(3,'20260101-000000-aaaa','deploy','running',1767225605.0,1,NULL,NULL,'','','','{}');
INSERT INTO "transitions" VALUES(4,'20260101-000000-aaaa','deploy','failed',1767225608.0,0,1,NULL,'','web2 failed','','{}');
CREATE INDEX runs_by_runbook ON runs (runbook, started_at);
CREATE INDEX transitions_by_run ON transitions (run_id, seq);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('transitions',4);
INSERT INTO "sqlite_sequence" VALUES('gates',1);
INSERT INTO "sqlite_sequence" VALUES('host_results',2);
COMMIT;
