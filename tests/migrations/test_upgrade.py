"""Migrating keeps every row: from the schema of the last release, and from nothing.

The last release's tree is taken from git, migrated and filled with a row of every model
by its own code; this tree's migrations then run on that database. Runs on the database
the suite uses (SQLite, or PostgreSQL with DATABASE_URL), in a database of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# The last release before environments and API keys moved into foundation and the
# relations to live streams became ids.
LAST_RELEASE = "ca3fd926e29d0ea03d2f333a65df091e9462d0dd"
ROWS = Path(__file__).with_name("rows.py")
RENAMED_TABLES = {"media_core_environment": "foundation_environment",
                  "media_core_apikey": "foundation_apikey"}
RENAMED_COLUMNS = {("media_core_playbackid", "live_stream_id"): "source_id"}


@pytest.fixture
def database_url(tmp_path):
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    import psycopg

    name = f"kino_upgrade_{os.getpid()}"
    admin = dict(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                 password=db["PASSWORD"] or None, dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    yield f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(tree: Path, database_url: str, tmp_path: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DATABASE_URL=database_url, SECRET_KEY="upgrade-test-" + "x" * 40,
               VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(tree),
               DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def _old_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "release"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", LAST_RELEASE],
                             capture_output=True, check=True, timeout=60).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True, timeout=60)
    return tree


@pytest.mark.timeout(600)
def test_migrating_from_the_last_release_keeps_every_row(database_url, tmp_path):
    old = _old_tree(tmp_path)
    _run(old, database_url, tmp_path, "manage.py", "migrate", "--no-input", "-v", "0")
    _run(old, database_url, tmp_path, str(ROWS), "fill")
    before = json.loads(_run(old, database_url, tmp_path, str(ROWS), "dump"))

    _run(ROOT, database_url, tmp_path, "manage.py", "migrate", "--no-input", "-v", "0")
    after = json.loads(_run(ROOT, database_url, tmp_path, str(ROWS), "dump"))

    assert all(rows for rows in before.values()), "every model of the release has a row"
    for table, rows in before.items():
        new_table = RENAMED_TABLES.get(table, table)
        assert len(after[new_table]) == len(rows), table
        kept = {r["id"]: r for r in after[new_table]}
        for row in rows:
            for column, value in row.items():
                new_column = RENAMED_COLUMNS.get((table, column), column)
                assert kept[row["id"]][new_column] == value, (table, column)
    # The live stream's playback ID names its source; the asset's names none.
    sources = {r["source_type"] for r in after["media_core_playbackid"]}
    assert sources == {"", "live_stream"}
    assert after["media_core_asset"][0]["live_stream_id"] == before["live_livestream"][0]["id"]
    # No foreign key from media_core to live is left behind.
    _run(ROOT, database_url, tmp_path, str(ROWS), "delete_streams")


def test_migrating_from_nothing_gives_the_models_schema(database_url, tmp_path):
    _run(ROOT, database_url, tmp_path, "manage.py", "migrate", "--no-input", "-v", "0")
    _run(ROOT, database_url, tmp_path, "manage.py", "makemigrations", "--check", "--dry-run")
    _run(ROOT, database_url, tmp_path, str(ROWS), "fill")
    after = json.loads(_run(ROOT, database_url, tmp_path, str(ROWS), "dump"))
    assert all(after.values())
