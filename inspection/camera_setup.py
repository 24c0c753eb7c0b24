"""Setting up a station's cameras: validating their configuration before it is saved, and
probing one camera (open it, apply its settings, read a frame) to show what it accepted.

Video files and image folders are read from CAMERA_FILES_ROOT only: a camera's source is
typed by an engineer in a browser and must not open arbitrary paths on the server.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import socket
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from rest_framework.exceptions import ValidationError

from defect_platform.core import audit_log
from inspection import quality, station_state
from inspection.cameras import CameraError, camera_from_config
from inspection.cameras.factory import KINDS
from inspection.cameras.opencv import PROPERTIES
from inspection.cameras.synthetic import check_defect_rates, line_defect_rates

PROBE_TIMEOUT_S = 15.0
# Camera settings are numbers the driver takes as doubles (FOURCC aside); beyond this no
# camera property means anything.
MAX_SETTING = 1_000_000
POSITIVE_SETTINGS = {"width", "height", "fps"}
# Set through the reference endpoint (services.set_reference), never typed in.
MEASURED_KEYS = ("reference", "limits")
_probe_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="probe")


def _check_one(config, index: int, count: int) -> dict:
    if not isinstance(config, dict):
        raise ValidationError({"cameras": f"camera {index + 1}: give an object, not {config!r}"})
    name = _check_name(config.get("name"), index)
    kind = config.get("kind", "synthetic")
    if kind not in KINDS:
        raise ValidationError({"cameras": f"{name}: kind must be one of {', '.join(KINDS)}"})
    wanted = _check_settings(name, config.get("settings") or {})
    clean = {"name": name, "kind": kind}
    if kind != "synthetic":
        clean["source"] = config.get("source")
    elif config.get("defect_rates") is not None:
        try:
            clean["defect_rates"] = check_defect_rates(config["defect_rates"])
        except CameraError as exc:
            raise ValidationError({"cameras": f"{name}: {exc}"}) from None
    if kind == "stream":
        _check_network(name, str(clean["source"] or ""))
    if kind in ("video", "folder"):
        root = Path(settings.CAMERA_FILES_ROOT).resolve()
        path = (root / str(clean["source"] or "")).resolve()
        if root not in path.parents and path != root:
            raise ValidationError({"cameras": f"{name}: a {kind} source is a path inside {root}"})
        clean["source"] = str(path)
    if wanted:
        clean["settings"] = wanted
    for key in MEASURED_KEYS:  # kept from the camera's earlier configuration
        if key in config:
            clean[key] = config[key]
    try:
        camera_from_config(clean, index, count)
    except CameraError as exc:
        raise ValidationError({"cameras": str(exc)}) from None
    return clean


def _check_name(value, index: int) -> str:
    """Names appear in URLs (/cameras/<name>/probe/), pages and logs: printable, no slash."""
    name = str(value or "").strip() if isinstance(value, str | int) else ""
    if not name or len(name) > 60:
        raise ValidationError({"cameras": f"camera {index + 1}: a name of 1-60 characters"})
    if "/" in name or not name.isprintable():
        raise ValidationError(
            {"cameras": f"camera {index + 1}: a name without slashes or control characters"}
        )
    return name


def _check_settings(name: str, wanted) -> dict:
    if not isinstance(wanted, dict):
        raise ValidationError({"cameras": f"{name}: settings map a setting to its value"})
    unknown = set(wanted) - set(PROPERTIES)
    if unknown:
        raise ValidationError(
            {"cameras": f"{name}: unknown settings {sorted(unknown)}; use {sorted(PROPERTIES)}"}
        )
    for key, value in wanted.items():
        if key == "fourcc":
            if not (isinstance(value, str) and len(value) == 4 and value.isascii()):
                raise ValidationError({"cameras": f"{name}: fourcc is 4 characters, like MJPG"})
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        low = 1 if key in POSITIVE_SETTINGS else -MAX_SETTING
        if not number or not low <= value <= MAX_SETTING:  # NaN fails the range too
            raise ValidationError(
                {"cameras": f"{name}: {key} is a number from {low} to {MAX_SETTING}"}
            )
    return wanted


def _check_network(name: str, url: str) -> None:
    """With CAMERA_NETWORKS set, a stream's host must be one of them (a host name, or every
    address it resolves to inside a listed network): the server then opens no URL an engineer
    types outside the camera network."""
    allowed = settings.CAMERA_NETWORKS
    host = urlsplit(url).hostname
    if not allowed or host is None:
        return  # no list: any camera URL (the scheme is checked by the camera factory)
    if host.lower() in {a.lower() for a in allowed}:
        return
    networks = []
    for entry in allowed:
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(entry, strict=False))
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        addresses = set()
    inside = addresses and all(
        any(ipaddress.ip_address(a.split("%")[0]) in n for n in networks) for a in addresses
    )
    if not inside:
        raise ValidationError(
            {"cameras": f"{name}: {host} is outside the camera networks ({', '.join(allowed)})"}
        )


def save_cameras(station, configs: list, user=None) -> list[dict]:
    """Replace the station's cameras; each keeps its golden reference when its name stays."""
    if not isinstance(configs, list) or not 1 <= len(configs) <= 16:
        raise ValidationError({"cameras": "Give a list of 1 to 16 cameras."})
    names = [str((c or {}).get("name", "")) if isinstance(c, dict) else "" for c in configs]
    if len(set(names)) != len(names):
        raise ValidationError({"cameras": "Camera names must differ."})
    with transaction.atomic():
        locked = type(station).objects.select_for_update().get(pk=station.pk)
        before = {c.get("name"): c for c in locked.cameras}
        merged = []
        for config in configs:
            kept = before.get(config.get("name"), {}) if isinstance(config, dict) else {}
            measured = {k: v for k, v in kept.items() if k in MEASURED_KEYS}
            if isinstance(config, dict):
                # A client may send back what it read (GET), but not change it.
                for key in MEASURED_KEYS:
                    if key in config and config[key] != measured.get(key):
                        raise ValidationError(
                            {
                                "cameras": f"{config.get('name')}: {key} is measured from a "
                                "golden frame (POST .../reference/), not set here"
                            }
                        )
                config = measured | config
            merged.append(config)
        cleaned = [_check_one(c, i, len(merged)) for i, c in enumerate(merged)]
        try:
            line_defect_rates(cleaned)
        except CameraError as exc:
            raise ValidationError({"cameras": str(exc)}) from None
        locked.cameras = cleaned
        locked.save(update_fields=["cameras"])
        cameras = [c["name"] for c in cleaned]
        station_state.record_for_projects(
            locked, user, audit_log.Action.STATION_CAMERAS, cameras=cameras
        )
    return cleaned


def _probe(config: dict, index: int, count: int) -> dict:
    camera = camera_from_config(config, index, count)
    try:
        camera.open()
        frame = camera.read()
        height, width = frame.image.shape[:2]
        return {
            "opened": True,
            "settings": camera.settings_report(),
            "frame": {"width": width, "height": height},
            "quality": quality.measure(frame.image),
        }
    except CameraError as exc:
        return {"opened": False, "error": str(exc), "settings": camera.settings_report()}
    finally:
        camera.close()


def probe(station, name: str) -> dict:
    """Open `name` once with its settings and report what it delivered and accepted. A camera
    that hangs (a dead stream) answers as not opened after PROBE_TIMEOUT_S."""
    index = next((i for i, c in enumerate(station.cameras) if c.get("name") == name), None)
    if index is None:
        raise ValidationError({"camera": f"The station has no camera {name!r}."})
    config = station.cameras[index]
    future = _probe_pool.submit(_probe, config, index, len(station.cameras))
    try:
        found = future.result(timeout=PROBE_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        found = {"opened": False, "error": f"no answer within {PROBE_TIMEOUT_S:.0f} s"}
    return {"camera": name, "kind": config.get("kind", "synthetic")} | found
