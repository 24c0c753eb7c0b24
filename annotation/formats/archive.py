"""Reading zip archives safely: no paths outside the archive, no links, no zip bombs."""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import PurePosixPath
from typing import BinaryIO

MAX_RATIO = 200  # uncompressed / compressed; images barely compress, bombs compress 1000x


class ArchiveRejected(ValueError):
    pass


@dataclass
class SafeArchive:
    members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)
    zf: zipfile.ZipFile | None = None

    def read(self, name: str) -> bytes:
        info = self.members[name]
        with self.zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
        if len(data) != info.file_size:
            raise ArchiveRejected(f"{name}: the archive lies about the size of this entry")
        return data

    def close(self) -> None:
        if self.zf is not None:
            self.zf.close()


def _problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute paths are not allowed in archives"
    if ".." in path.parts:
        return "paths leading out of the archive ('..') are not allowed"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic links are not allowed in archives"
    if info.flag_bits & 0x1:
        return "encrypted entries cannot be read"
    if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
        return f"compressed {info.file_size / info.compress_size:.0f}:1, a likely zip bomb"
    return None


def open_archive(
    source: bytes | str | os.PathLike | BinaryIO, max_total_bytes: int, max_files: int = 100_000
) -> SafeArchive:
    """Index a zip (its bytes, a path, or a seekable file); unsafe entries go to `rejected`
    with the reason, the rest can be read."""
    try:
        zf = zipfile.ZipFile(BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ArchiveRejected(f"Not a readable zip archive: {exc}") from None
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > max_files:
        raise ArchiveRejected(f"The archive holds {len(infos)} files; the limit is {max_files}.")
    archive = SafeArchive(zf=zf)
    total = 0
    for info in infos:
        problem = _problem(info)
        if problem:
            archive.rejected.append({"name": info.filename, "reason": problem})
            continue
        total += info.file_size
        if total > max_total_bytes:
            raise ArchiveRejected(
                f"The archive unpacks to more than {max_total_bytes // 2**20} MB; split it."
            )
        archive.members[info.filename] = info
    return archive
