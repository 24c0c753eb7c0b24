"""Backup and restore of the whole platform: the database and the media folder in one tar file.

One format for every database, so an embedded install (SQLite) moves to the scaled-out mode
(PostgreSQL) by a backup and a restore. The rows are dumped inside one read transaction
(REPEATABLE READ on PostgreSQL), so they are a consistent snapshot; media files are copied after
it. Files are immutable once written (storage.save_stream), so every file a dumped row names is
in the archive unless it was deleted in between (retention, say): the manifest lists those.

Archive members: `data.json.gz` (Django's serialised rows, natural keys for content types and
permissions), `media/<name>` (each file with its SHA-256 in the manifest), `manifest.json`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

FORMAT = 1
# Rebuilt by migrate on the target (content types, permissions) or worthless there (sessions).
EXCLUDED = ["contenttypes", "auth.permission", "sessions"]
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def backup(path: str | Path) -> dict:
    """Write the archive to `path`: whole or not at all, never over an existing file."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists: give a new file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        with tempfile.TemporaryDirectory() as work:
            rows = Path(work) / "data.json.gz"
            migrations, counts, referenced = _dump_database(rows)
            with tarfile.open(tmp, "w") as tar:
                tar.add(rows, "data.json.gz")
                media = _add_media(tar)
                manifest = {
                    "format": FORMAT,
                    "created_at": timezone.now().isoformat(),
                    "database": connection.vendor,
                    "migrations": migrations,
                    "counts": counts,
                    "media": media,
                    "vanished": sorted(referenced - set(media)),
                }
                _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails rather than overwrite a file that appeared meanwhile
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def read_manifest(path: str | Path) -> dict:
    try:
        with tarfile.open(path) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{path} is not a platform backup: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} has backup format {manifest.get('format')}, not {FORMAT}.")
    return manifest


def restore(path: str | Path) -> dict:
    """Load the archive into this (empty) database and media folder; returns the manifest.

    The database is migrated to the schema the backup was made with, the rows are loaded in
    one transaction, then it is migrated to this version's schema: an older backup restores
    into a newer platform."""
    manifest = read_manifest(path)
    _refuse_unless_empty()
    targets = [tuple(t) for t in manifest["migrations"]]
    _check_known(targets)
    with tarfile.open(path) as tar, tempfile.TemporaryDirectory() as work:
        _restore_media(tar, manifest["media"])
        rows = Path(work) / "data.json.gz"
        with tar.extractfile("data.json.gz") as src, open(rows, "wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
        _migrate(targets)
        with transaction.atomic():
            call_command("loaddata", str(rows), verbosity=0)
            counts = _counts()
        wrong = {
            label: (want, counts.get(label))
            for label, want in manifest["counts"].items()
            if counts.get(label) != want
        }
        if wrong:
            raise BackupError(f"Row counts differ after loading (want, got): {wrong}")
    _migrate(_latest())
    return manifest


# --- Database ---------------------------------------------------------------------------


def _dump_database(out: Path) -> tuple[list, dict, set[str]]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # must be the transaction's first statement
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        migrations = _applied()
        counts = _counts()
        referenced = _file_names()
        with gzip.open(out, "wt", encoding="utf-8") as fh:
            call_command("dumpdata", natural_foreign=True, exclude=EXCLUDED, stdout=fh, verbosity=0)
    return migrations, counts, referenced


def _models():
    skipped = {"contenttypes", "sessions"}
    return [
        m
        for m in apps.get_models()
        if m._meta.app_label not in skipped
        and m._meta.label_lower != "auth.permission"
        and m._meta.managed
        and not m._meta.proxy
    ]


def _counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in _models()}


def _file_names() -> set[str]:
    names = set()
    for model in _models():
        fields = [f.name for f in model._meta.fields if isinstance(f, models.FileField)]
        for field in fields:
            names |= set(
                model._default_manager.exclude(**{field: ""}).values_list(field, flat=True)
            )
    names.discard(None)
    return names


def _applied() -> list[list[str]]:
    """Per app, the newest migration applied here (the state the rows belong to)."""
    executor = MigrationExecutor(connection)
    applied = set(executor.recorder.applied_migrations())
    graph = executor.loader.graph
    known = [node for node in applied if node in graph.node_map]  # squashed ones are not
    leaves = [
        node for node in known if not any(c in applied for c in graph.node_map[node].children)
    ]
    return sorted([list(node) for node in leaves])


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _check_known(targets) -> None:
    graph = MigrationExecutor(connection).loader.graph
    unknown = [f"{app}.{name}" for app, name in targets if (app, name) not in graph.node_map]
    if unknown:
        raise BackupError(
            "The backup was made by a newer version of the platform (unknown migrations: "
            f"{', '.join(unknown)}): restore it with that version or a later one."
        )


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(targets)
    if plan:
        executor.migrate(targets, plan=plan)


def _refuse_unless_empty() -> None:
    from defect_platform.core.models import Project

    if not MigrationExecutor(connection).recorder.has_table():
        return
    users = get_user_model().objects.count() if _table_exists(get_user_model()) else 0
    projects = Project.objects.count() if _table_exists(Project) else 0
    if users or projects:
        raise BackupError(
            f"This database already holds {users} users and {projects} projects: restore "
            "goes into an empty database (a new DATABASE_URL, or a new DATA_DIR for SQLite)."
        )


def _table_exists(model) -> bool:
    return model._meta.db_table in connection.introspection.table_names()


# --- Media ------------------------------------------------------------------------------


def _add_media(tar: tarfile.TarFile) -> dict[str, dict]:
    root = Path(settings.MEDIA_ROOT)
    media = {}
    if not root.exists():
        return media
    for folder, _, files in os.walk(root):
        for filename in sorted(files):
            full = Path(folder) / filename
            if filename.endswith(".part") or full.is_symlink():
                continue  # a write in progress, or nothing the platform wrote
            name = full.relative_to(root).as_posix()
            try:
                fh = open(full, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                continue  # deleted since the walk listed it
            with fh:
                digest = hashlib.sha256()
                info = tar.gettarinfo(fileobj=fh, arcname=f"media/{name}")
                tar.addfile(info, _Hashing(fh, digest))
            media[name] = {"size": info.size, "sha256": digest.hexdigest()}
    return media


def _restore_media(tar: tarfile.TarFile, media: dict[str, dict]) -> None:
    root = Path(settings.MEDIA_ROOT)
    for name, meta in media.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise BackupError(f"Unsafe file name in the backup: {name!r}")
        target = root / relative
        member = tar.getmember(f"media/{name}")
        if not member.isfile():
            raise BackupError(f"media/{name} in the backup is not a plain file")
        if target.exists():
            if _sha256(target) != meta["sha256"]:
                raise BackupError(f"{target} exists with other content: restore into new media.")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        digest = hashlib.sha256()
        try:
            with tar.extractfile(member) as src, open(tmp, "xb") as out:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != meta["sha256"]:
                raise BackupError(f"media/{name} is damaged in the backup (checksum differs)")
            os.link(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Hashing(io.RawIOBase):
    """A read-only file wrapper that hashes what passes through it."""

    def __init__(self, fh, digest):
        self.fh, self.digest = fh, digest

    def read(self, size=-1):
        data = self.fh.read(size)
        self.digest.update(data)
        return data

    def readable(self):
        return True


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, io.BytesIO(data))
