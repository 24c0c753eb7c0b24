"""Camera placement around a cylindrical part: which share of its surface the cameras see
well enough to inspect, where views overlap, where the blind spots are, and how many cameras a
full view needs. No Django here.

Geometry in the plane across the axis: the part is a circle of radius r at the origin, a camera
sits at distance d from the axis and looks at it. A ray leaving the camera at angle t from its
optical axis meets the surface at central angle phi(t) = asin(d sin t / r) - t, with incidence
angle asin(d sin t / r) against the surface normal. A point counts as seen when the ray is
inside the field of view and the incidence is at most `max_incidence` (grazing views
foreshorten defects until they vanish; 60 degrees keeps half the apparent width). So each
camera covers +-phi_max around its own azimuth, with

    phi_max = min(i_max - asin(r sin i_max / d),  phi(fov / 2) if the FOV cuts first).

Along the axis, a camera sees 2 (d - r) tan(vfov / 2) of the nearest surface line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

FULL = 360.0


class PlacementError(ValueError):
    """Parameters that describe no real set-up; the message says which."""


@dataclass(frozen=True)
class Setup:
    radius: float  # part radius (any length unit, the same for all)
    length: float  # part length along the axis
    cameras: int
    distance: float  # from the part's axis to each camera
    fov_deg: float  # horizontal field of view, across the axis
    vfov_deg: float  # vertical field of view, along the axis
    max_incidence_deg: float = 60.0
    start_deg: float = 0.0  # azimuth of the first camera; the others evenly spaced

    def check(self) -> None:
        if not (self.radius > 0 and self.length > 0):
            raise PlacementError("radius and length must be positive")
        if not 1 <= self.cameras <= 64:
            raise PlacementError("cameras must be between 1 and 64")
        if self.distance <= self.radius:
            raise PlacementError("cameras must stand outside the part (distance > radius)")
        if not (0 < self.fov_deg < 180 and 0 < self.vfov_deg < 180):
            raise PlacementError("fields of view must be between 0 and 180 degrees")
        if not 0 < self.max_incidence_deg < 90:
            raise PlacementError("max incidence must be between 0 and 90 degrees")


def half_arc_deg(radius: float, distance: float, fov_deg: float, max_incidence_deg: float) -> float:
    """Half the arc (degrees of the part's circumference) one camera inspects."""
    i_max = math.radians(max_incidence_deg)
    by_incidence = i_max - math.asin(radius * math.sin(i_max) / distance)
    half_fov = math.radians(fov_deg) / 2
    s = distance * math.sin(half_fov) / radius
    # The FOV cuts first only when its edge ray still meets the part at a shallow enough angle.
    by_fov = math.asin(s) - half_fov if s < math.sin(i_max) else by_incidence
    return math.degrees(min(by_incidence, by_fov))


def _merge(arcs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of arcs given as (start, end) in degrees, start in [0, 360), end > start."""
    pieces = []
    for start, end in arcs:
        if end - start >= FULL:
            return [(0.0, FULL)]
        if end <= FULL:
            pieces.append((start, end))
        else:
            pieces += [(start, FULL), (0.0, end - FULL)]
    pieces.sort()
    merged: list[list[float]] = []
    for start, end in pieces:
        if merged and start <= merged[-1][1] + 1e-9:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if len(merged) > 1 and merged[0][0] <= 1e-9 and merged[-1][1] >= FULL - 1e-9:
        # An arc across 0 degrees was split above; join its halves again.
        first = merged.pop(0)
        merged[-1][1] = first[1] + FULL
    return [(a, b) for a, b in merged]


def analyse(setup: Setup) -> dict:
    setup.check()
    half = half_arc_deg(setup.radius, setup.distance, setup.fov_deg, setup.max_incidence_deg)
    step = FULL / setup.cameras
    azimuths = [(setup.start_deg + k * step) % FULL for k in range(setup.cameras)]
    arcs = [((a - half) % FULL, (a - half) % FULL + 2 * half) for a in azimuths]
    covered = _merge(arcs)
    seen = sum(b - a for a, b in covered)
    gaps = []
    if seen < FULL - 1e-9:
        edges = covered + [(covered[0][0] + FULL, covered[0][1] + FULL)]
        gaps = sorted((edges[i][1] % FULL, edges[i + 1][0] % FULL) for i in range(len(covered)))
    # Neighbouring cameras overlap by 2*half - step when their arcs meet.
    overlap = max(0.0, 2 * half - step) if setup.cameras > 1 else 0.0
    along = 2 * (setup.distance - setup.radius) * math.tan(math.radians(setup.vfov_deg) / 2)
    needed = math.ceil(FULL / (2 * half) - 1e-9) if half > 0 else None
    return {
        "setup": asdict(setup),
        "half_arc_deg": half,
        "cameras": [
            {"azimuth_deg": a, "from_deg": s % FULL, "to_deg": e % FULL}
            for a, (s, e) in zip(azimuths, arcs, strict=True)
        ],
        "coverage": min(1.0, seen / FULL),
        "overlap_deg": overlap,
        "blind_spots": [{"from_deg": a, "to_deg": b, "width_deg": (b - a) % FULL} for a, b in gaps],
        "length_coverage": min(1.0, along / setup.length),
        "suggestion": _suggest(setup, half, needed),
    }


def _suggest(setup: Setup, half: float, needed: int | None) -> str:
    if needed is None:
        return "At this distance no camera sees the surface well enough; move them back."
    lines = []
    if needed > setup.cameras:
        lines.append(
            f"Use at least {needed} cameras, evenly spaced every {FULL / needed:.0f} degrees: "
            f"each inspects {2 * half:.0f} degrees of the circumference."
        )
    else:
        margin = 2 * half - FULL / setup.cameras
        lines.append(
            f"{setup.cameras} evenly spaced cameras cover the whole circumference with "
            f"{margin:.0f} degrees of overlap between neighbours."
        )
    along = 2 * (setup.distance - setup.radius) * math.tan(math.radians(setup.vfov_deg) / 2)
    if along < setup.length:
        lines.append(
            f"Along the axis each view spans {along:.1f} of the part's {setup.length:.1f}: "
            "move the cameras back, widen the lens, or capture the part in "
            f"{math.ceil(setup.length / along - 1e-9)} steps."
        )
    return " ".join(lines)
