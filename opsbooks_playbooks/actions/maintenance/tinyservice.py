"""A small HTTP service over a SQLite file, shipped to hosts by ``dr.system_recovery``.

Standard library only (it runs with the host's ``python3``, not this project):

    python3 tinyservice.py serve --config etc/service.conf --data data/service.db \
        --pidfile run/service.pid
    python3 tinyservice.py check --url http://127.0.0.1:8080/health --expect '{"events": 10}'

``GET /health`` answers 200 with ``{"status": "ok", "service": NAME, "tables": {...}}``
(row counts of every table) when the database opens and passes ``PRAGMA
quick_check``, else 503. The config file is ``KEY=VALUE`` lines: ``PORT`` (required),
``NAME`` and ``BIND`` (default 127.0.0.1). The pid file is written once the port is
bound, and removed on exit.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def read_config(path: Path) -> dict[str, str]:
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SystemExit(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        values[key.strip()] = value.strip()
    if not values.get("PORT", "").isdigit():
        raise SystemExit(f"{path}: PORT=<number> is required")
    return values


def health(data: Path) -> tuple[int, dict[str, Any]]:
    if not data.is_file():
        return 503, {"status": "down", "error": f"no database {data}"}
    try:
        conn = sqlite3.connect(f"file:{data}?mode=ro", uri=True, timeout=5)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                return 503, {"status": "down", "error": "quick_check failed"}
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            tables = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return 503, {"status": "down", "error": str(exc)}
    return 200, {"status": "ok", "tables": tables}


def serve(args: argparse.Namespace) -> int:
    config = read_config(Path(args.config))
    data = Path(args.data).absolute()
    name = config.get("NAME", "service")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/health":
                self.send_error(404)
                return
            status, body = health(data)
            raw = json.dumps({**body, "service": name}, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *values: Any) -> None:
            sys.stderr.write(f"{self.address_string()} {format % values}\n")

    server = ThreadingHTTPServer((config.get("BIND", "127.0.0.1"), int(config["PORT"])), Handler)
    pidfile = Path(args.pidfile)
    pidfile.write_text(f"{os.getpid()}\n")
    stop = threading.Thread(target=server.shutdown, daemon=True)
    signal.signal(signal.SIGTERM, lambda *_: stop.start())
    try:
        server.serve_forever()
    finally:
        server.server_close()
        pidfile.unlink(missing_ok=True)
    return 0


def check(args: argparse.Namespace) -> int:
    expected = json.loads(args.expect)
    try:
        with urllib.request.urlopen(args.url, timeout=10) as answer:
            body = json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"{args.url}: no healthy answer ({exc})", file=sys.stderr)
        return 1
    tables = body.get("tables", {})
    wrong = {k: (v, tables.get(k)) for k, v in expected.items() if tables.get(k) != v}
    if body.get("status") != "ok" or wrong:
        shown = "; ".join(f"{k}: {got} rows, backup has {want}" for k, (want, got) in wrong.items())
        print(f"{args.url}: status {body.get('status')}; {shown}", file=sys.stderr)
        return 1
    print(f"{args.url}: ok; rows match the backup: {json.dumps(tables, sort_keys=True)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinyservice.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    item = sub.add_parser("serve", help="serve /health over the database")
    item.add_argument("--config", required=True)
    item.add_argument("--data", required=True)
    item.add_argument("--pidfile", required=True)
    item.set_defaults(handler=serve)
    item = sub.add_parser("check", help="fail unless /health is ok with the expected rows")
    item.add_argument("--url", required=True)
    item.add_argument("--expect", required=True, help="JSON object: table -> row count")
    item.set_defaults(handler=check)
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
