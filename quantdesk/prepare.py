"""What ``./desk start`` does before the desk runs (``manage.py rundesk --prepare``), in one process and only when
needed: migrate when a migration is unapplied, collectstatic when a static source file changed (names, sizes and
mtimes against the stamp of the last collection), then bootstrap_desk (idempotent). A repeat start with nothing
new costs a migration-plan check and a file listing instead of a full migrate and a re-hash of every asset."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.management import call_command

STAMP_NAME = ".collected-stamp"


def unapplied_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def static_stamp() -> str:
    """A digest of every file the static finders would collect: (path, size, mtime)."""
    from django.contrib.staticfiles import finders

    rows = []
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            st = Path(storage.path(path)).stat()
            rows.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}")
    rows.append(settings.STORAGES["staticfiles"]["BACKEND"])
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()


def prepare(*, stdout: TextIO) -> None:
    pending = unapplied_migrations()
    if pending:
        call_command("migrate", interactive=False, verbosity=1, stdout=stdout)
    else:
        stdout.write("migrations: up to date\n")
    root = Path(settings.STATIC_ROOT)
    stamp_file = root / STAMP_NAME
    stamp = static_stamp()
    manifest = root / "staticfiles.json"
    if not manifest.exists() or not stamp_file.exists() or stamp_file.read_text() != stamp:
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp_file.write_text(stamp)
        stdout.write("static files: collected\n")
    else:
        stdout.write("static files: up to date\n")
    call_command("bootstrap_desk", stdout=stdout)
