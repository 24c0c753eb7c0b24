"""Cameras behind one interface: OpenCV devices, network streams, video files, image folders
and the synthetic line. No Django here."""

from inspection.cameras.base import Camera, CameraError, Frame
from inspection.cameras.factory import camera_from_config

__all__ = ["Camera", "CameraError", "Frame", "camera_from_config"]
