"""Durable file writes: a file appears whole or not at all, and is never overwritten."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import uuid

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage


class StorageFull(OSError):
    """The media disk (or the account's quota) is full: nothing was written."""

    def __init__(self, name: str):
        super().__init__(
            errno.ENOSPC,
            f"The server's storage is full; {name!r} was not saved. Free space "
            "(or raise RECORD_IMAGES_MAX_MB's pruning) and try again.",
        )


def unique_name(folder: str, suffix: str) -> str:
    return f"{folder.strip('/')}/{uuid.uuid4().hex}{suffix}"


def save_bytes(name: str, data: bytes) -> str:
    """Write `data` under `name` (relative to MEDIA_ROOT) and return the stored name."""
    return save_stream(name, io.BytesIO(data))


def save_stream(name: str, fh) -> str:
    """Write the file object `fh` under `name` durably, in 1 MiB chunks (a large upload is
    never held in memory), and return the stored name."""
    if not isinstance(default_storage, FileSystemStorage):
        return default_storage.save(name, File(fh))
    path = default_storage.path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{uuid.uuid4().hex}.part"
    try:
        with open(tmp, "xb") as out:
            while chunk := fh.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        # link() fails if the name exists, so nothing is ever overwritten.
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(name) from exc
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return name


def delete_quietly(name: str) -> None:
    if not name:
        return
    with contextlib.suppress(OSError):
        default_storage.delete(name)


def read_bytes(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()
