"""Synthetic runbooks using ``SubRun`` (a linked run), for their golden page."""

from __future__ import annotations

import opsbooks as ob


class MigrateDatabase(ob.Runbook):
    """Migrate one database, backing it up first."""

    name = "fixtures.migrate_database"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        db: str = ob.Field(description="the database to migrate")
        batch: int = ob.Field(default=100, description="rows per migration batch")

    backup = ob.Command("pg_dump {db} > {db}.sql")
    apply = ob.Command("migrate --db {db} --batch {batch}")


class LinkedRelease(ob.Runbook):
    """Pin how a linked run (``SubRun``) renders: a step that links to the child's page."""

    name = "fixtures.linked_release"
    title = "Linked release"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        env: str = ob.Field(default="staging", description="where to release")

    announce = ob.Notify("Releasing to {env}")
    migrate = ob.SubRun(
        MigrateDatabase,
        params={"db": "app_{env}", "batch": "50"},
        title="Migrate the database",
        description="A run of its own: resuming this run resumes it.",
    )
    deploy = ob.Command("deploy --env {env}", undo="rollback")
    rollback = ob.Command("deploy --env {env} --previous")
