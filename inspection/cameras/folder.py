"""Replaying a folder of images as a camera, in name order, looping, at a set rate."""

from __future__ import annotations

import time
from pathlib import Path

import cv2

from inspection.cameras.base import Camera, CameraError, Frame, Pacer

SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


class FolderCamera(Camera):
    def __init__(self, name: str, folder: str | Path, loop: bool = True, fps: float | None = None):
        self.name = name
        self.folder = Path(folder)
        self.loop = loop
        self.pacer = Pacer(fps)
        self._paths: list[Path] = []
        self._next = 0

    def open(self) -> None:
        if not self.folder.is_dir():
            raise CameraError(f"{self.name}: {self.folder} is not a folder")
        self._paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in SUFFIXES)
        if not self._paths:
            raise CameraError(f"{self.name}: no images in {self.folder}")
        self._next = 0

    def read(self) -> Frame:
        if not self._paths:
            raise CameraError(f"{self.name}: not open")
        if self._next >= len(self._paths):
            if not self.loop:
                raise CameraError(f"{self.name}: the folder has been played")
            self._next = 0
        path = self._paths[self._next]
        self._next += 1
        self.pacer.wait()
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise CameraError(f"{self.name}: {path.name} is not a readable image")
        return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.time())
