"""Backup and restore as an operator runs them: an embedded install (SQLite) backed up and
restored into a new PostgreSQL database, each step a real `manage.py` process."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.processes import ROOT

PG = "postgres://postgres@127.0.0.1:5432"
COUNTS = (
    "import json; from defect_platform.core.backup import _counts; print(json.dumps(_counts()))"
)


def _manage(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def _shell(env: dict, code: str) -> str:
    """The last line `manage.py shell -c code` printed (the shell may print a banner)."""
    return _manage(env, "shell", "-c", code).stdout.strip().splitlines()[-1]


def _env(data: Path, database: str | None = None) -> dict:
    data.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT")}
    env.update(DATA_DIR=str(data), DB_CONN_MAX_AGE="0")
    if database:
        env["DATABASE_URL"] = f"{PG}/{database}"
    return env


def _media(data: Path) -> dict[str, str]:
    root = data / "media"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def empty_postgres():
    name = f"dp_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_embedded_install_moves_to_postgresql_with_every_row_and_file(tmp_path, empty_postgres):
    embedded = _env(tmp_path / "embedded")
    _manage(embedded, "migrate", "--noinput")
    _manage(embedded, "seed_demo")
    archive = tmp_path / "platform.tar"
    made = _manage(embedded, "backup", str(archive))
    assert "backed up" in made.stdout
    before = json.loads(_shell(embedded, COUNTS))
    assert before["core.Project"] >= 2 and before["annotation.Image"] >= 24
    assert before["annotation.LabelVersion"] > 0 and before["auth.User"] >= 6

    # The archive will not be overwritten by a second backup.
    again = _manage(embedded, "backup", str(archive), check=False)
    assert again.returncode != 0 and "exists" in again.stderr

    scaled = _env(tmp_path / "scaled", empty_postgres)
    restored = _manage(scaled, "restore", str(archive))
    assert "restored" in restored.stdout
    after = json.loads(_shell(scaled, COUNTS))
    assert after == before
    media = _media(tmp_path / "embedded")
    assert media and _media(tmp_path / "scaled") == media
    # Passwords, roles and tokens came along: the demo annotator signs in as before.
    signs_in = _shell(
        scaled,
        "from django.contrib.auth import authenticate; "
        "print(bool(authenticate(username='annotator', password='annotator')))",
    )
    assert signs_in == "True"
    # New rows get new ids: the sequences were moved past the restored ones.
    new_project = _shell(
        scaled,
        "from defect_platform.core.models import Project; "
        "print(Project.objects.create(name='After restore', slug='after-restore').pk)",
    )
    assert int(new_project) > before["core.Project"]

    # A second restore into a database that holds data is refused, and changes nothing.
    twice = _manage(scaled, "restore", str(archive), check=False)
    assert twice.returncode != 0 and "already holds" in twice.stderr
    assert json.loads(_shell(scaled, COUNTS))["core.Project"] == (before["core.Project"] + 1)


def test_a_damaged_archive_is_named_and_leaves_no_partial_files(tmp_path):
    source = _env(tmp_path / "source")
    _manage(source, "migrate", "--noinput")
    _manage(source, "seed_demo")
    archive = tmp_path / "platform.tar"
    _manage(source, "backup", str(archive))
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else None
            if member.name.startswith("media/") and member.name.endswith(".png"):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])  # one flipped byte
            out.addfile(member, None if data is None else io.BytesIO(data))

    target = _env(tmp_path / "target")
    failed = _manage(target, "restore", str(damaged), check=False)
    assert failed.returncode != 0 and "damaged" in failed.stderr
    left = list((tmp_path / "target").rglob("*.part"))
    assert left == []
    not_a_backup = tmp_path / "notes.tar"
    not_a_backup.write_bytes(b"not a tar file at all")
    refused = _manage(target, "restore", str(not_a_backup), check=False)
    assert refused.returncode != 0 and "not a platform backup" in refused.stderr
