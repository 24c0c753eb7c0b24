"""Deterministic synthetic reed-straw generator.

A straw is a slightly bent, slightly tapered tube lying horizontally in the image.  Its surface is
described in cylindrical coordinates ``(angle around the axis, position along the axis)``: one
albedo texture (fibres, colour variation, defects painted into it) plus a "hole" channel (wall
missing) and one coverage channel per defect.  A camera at angle ``theta`` looks at the tube from
the side; image row ``y`` of a column shows the surface point at angle
``theta + asin((y - centre) / radius)``, i.e. a surface point at angle ``a`` projects to
``y = centre + radius * sin(a - theta)`` (orthographic projection, foreshortened near the
silhouette).  Every view of one straw is therefore a resampling of the same surface, so views
differ and agree geometrically, and masks are exact by construction.

Only numpy, OpenCV and the standard library are used (no Django, no torch).  Everything is
deterministic: the same seed and parameters give byte-identical images and masks.

Rendering cost: the per-straw work (texture, defects, background) is cached per
``(spec, size)``; a view then costs a handful of vectorised numpy operations and one
``cv2.remap`` of the straw region.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

__all__ = [
    "BREAK_VARIANTS",
    "DEFAULT_SIZE",
    "DEFECT_TYPES",
    "VISIBILITY_MARGIN",
    "VISIBLE_EXTENT",
    "DefectSpec",
    "StrawSpec",
    "StrawView",
    "generate",
    "render_view",
    "render_views",
    "sample_defect",
    "sample_straw",
]

DEFECT_TYPES: tuple[str, ...] = ("crack", "split", "spot", "break", "discoloration", "dent")
"""Defect classes, in the canonical order used for masks and label vectors."""

BREAK_VARIANTS: tuple[str, ...] = ("gap", "end", "notch")
"""``gap``: the tube is broken through (background visible across it); ``end``: a piece is
missing at one end of the tube; ``notch``: a piece of the wall is missing."""

DEFAULT_SIZE: tuple[int, int] = (256, 1248)
"""Default image size as ``(height, width)``."""

DEFAULT_DEFECT_RATE = 0.15

VISIBILITY_MARGIN = math.radians(15.0)
"""The visible arc of a camera is ``+-(90 degrees - VISIBILITY_MARGIN)`` around its direction;
beyond it the surface is seen at a grazing angle at the silhouette."""

VISIBLE_EXTENT = 0.5
"""A defect is visible (labelled) in a view when at least half of its angular extent, or at
least this many radians of it, lie within the visible arc.  For small defects this means: its
centre angle lies within the arc."""

PARTIAL_SOFT_VALUE = 80
"""Soft-mask value of defect pixels that are drawn but lie beyond the visibility arc (seen at a
grazing angle at the silhouette): shown in the image, but too foreshortened to count."""

_TWO_PI = 2.0 * math.pi
_HOLE_TYPES = frozenset({"split", "break"})
# Order in which defects are painted into the texture (holes last: they replace the surface).
_PAINT_ORDER = ("discoloration", "dent", "spot", "crack", "split", "break")
# Width (pixels at 256 rows) of the disputed border ring in the soft masks, per defect type.
_SOFT_RING = {
    "crack": 2.0,
    "split": 3.0,
    "spot": 3.0,
    "break": 3.0,
    "discoloration": 6.0,
    "dent": 6.0,
}
_NOISE_PAD = 64

# Independent random streams (second word of the seed sequence).
_S_APPEARANCE = 11
_S_DEFECT_PICK = 12
_S_PLACEMENT = 13
_S_TEXTURE = 21
_S_BACKGROUND = 22
_S_NOISE = 23
_S_VIEW = 24
_S_DEFECT_SHAPE = 31
_S_GENERATE = 41

_STRAW_PALETTE = np.array(
    [
        (226.0, 196.0, 128.0),  # straw yellow
        (214.0, 190.0, 150.0),  # beige
        (198.0, 160.0, 102.0),  # light brown
        (230.0, 186.0, 106.0),  # golden
        (176.0, 136.0, 86.0),  # brown
        (208.0, 184.0, 124.0),  # pale yellow-beige
    ]
)
_MOULD_COLORS = np.array(
    [(58.0, 52.0, 40.0), (64.0, 70.0, 48.0), (42.0, 38.0, 34.0), (92.0, 68.0, 42.0)]
)
_DISCOLOR_COLORS = np.array(
    [
        (118.0, 80.0, 46.0),  # dark brown
        (150.0, 145.0, 132.0),  # grey
        (168.0, 92.0, 62.0),  # reddish
        (232.0, 218.0, 182.0),  # bleached
        (120.0, 122.0, 70.0),  # olive
    ]
)


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------


def _wrap_angle(a: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (a + math.pi) % _TWO_PI - math.pi


def _check_finite(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if not math.isfinite(value):
            raise ValueError(f"{type(obj).__name__}.{name} must be finite, got {value!r}")


@dataclass(frozen=True)
class DefectSpec:
    """One defect on the straw surface, in cylindrical coordinates.

    ``angle``: centre angle around the axis (radians); ``x``: centre position along the axis
    (0 = start of the tube, 1 = end); ``length``: extent along the axis as a fraction of the tube
    length; ``width``: angular extent around the axis (radians, ``>= 2*pi`` means all the way
    round); ``strength``: visual intensity 0..1; ``seed``: shape details; ``variant``: sub-kind
    (for ``break`` one of :data:`BREAK_VARIANTS`).
    """

    type: str
    angle: float
    x: float
    length: float
    width: float
    strength: float = 0.8
    seed: int = 0
    variant: str = ""

    def __post_init__(self) -> None:
        if self.type not in DEFECT_TYPES:
            raise ValueError(f"unknown defect type {self.type!r}; expected one of {DEFECT_TYPES}")
        _check_finite(self, ("angle", "x", "length", "width", "strength"))
        if not 0.0 <= self.x <= 1.0:
            raise ValueError(f"DefectSpec.x must be in [0, 1], got {self.x}")
        if self.length <= 0 or self.width <= 0:
            raise ValueError("DefectSpec.length and DefectSpec.width must be positive")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"DefectSpec.strength must be in [0, 1], got {self.strength}")
        if self.type == "break" and self.variant not in BREAK_VARIANTS:
            raise ValueError(f"break variant must be one of {BREAK_VARIANTS}, got {self.variant!r}")

    @property
    def full_circumference(self) -> bool:
        return self.width >= _TWO_PI - 1e-9

    def angular_distance(self, camera_angle: float) -> float:
        """Angle (radians, 0..pi) between the camera direction and the defect's centre."""
        return abs(_wrap_angle(self.angle - camera_angle))

    def arc_overlap(self, camera_angle: float, margin: float = VISIBILITY_MARGIN) -> float:
        """Radians of the defect's angular extent inside the camera's visible arc."""
        arc = math.pi / 2.0 - margin
        if self.full_circumference:
            return 2.0 * arc
        delta, half = self.angular_distance(camera_angle), self.width / 2.0
        total = 0.0
        for centre in (-_TWO_PI, 0.0, _TWO_PI):  # the extent may wrap around the back
            total += max(0.0, min(delta + half, centre + arc) - max(delta - half, centre - arc))
        return total

    def visible_from(self, camera_angle: float, margin: float = VISIBILITY_MARGIN) -> bool:
        """Whether a camera at ``camera_angle`` sees (and labels) this defect: at least half of
        its angular extent, or ``VISIBLE_EXTENT`` radians of it, lie in the visible arc."""
        if self.full_circumference:
            return True
        need = min(0.5 * self.width, VISIBLE_EXTENT) - 1e-9
        return self.arc_overlap(camera_angle, margin) >= need


RGB = tuple[float, float, float]


@dataclass(frozen=True)
class StrawSpec:
    """What one straw is: appearance, geometry and defects (sampled from a seed by
    :func:`sample_straw`, or built by hand).  Geometry is relative to the image size, so one spec
    can be rendered at any resolution."""

    seed: int
    defects: tuple[DefectSpec, ...] = ()
    straw_color: RGB = (222.0, 192.0, 128.0)
    tint_color: RGB = (182.0, 142.0, 88.0)
    color_variation: float = 0.35  # how far the colour wanders towards tint_color (0..1)
    fibre_strength: float = 0.08  # contrast of the fibre streaks
    radius: float = 0.33  # tube radius, fraction of image height
    taper: float = 0.0  # relative radius change from start to end of the tube
    bend: float = 0.04  # bow of the axis (fraction of height) ...
    bend_direction: float = 1.2  # ... in the plane at this angle around the axis
    wave: float = 0.0  # S-shaped axis component (fraction of height) ...
    wave_direction: float = 0.0  # ... in the plane at this angle
    offset: float = 0.0  # vertical offset of the rotation axis, fraction of height
    start: float = 0.03  # tube start, fraction of image width
    end: float = 0.97  # tube end, fraction of image width
    background_color: RGB = (38.0, 40.0, 44.0)
    light_elevation: float = 0.4  # radians above the camera direction
    ambient: float = 0.28
    gloss: float = 0.2
    shininess: float = 24.0
    vignette: float = 0.08
    noise: float = 2.0  # sensor noise sigma, 0..255 scale

    def __post_init__(self) -> None:
        if not isinstance(self.defects, tuple):
            object.__setattr__(self, "defects", tuple(self.defects))
        for d in self.defects:
            if not isinstance(d, DefectSpec):
                raise TypeError(f"defects must be DefectSpec instances, got {type(d).__name__}")
        _check_finite(
            self,
            (
                "color_variation",
                "fibre_strength",
                "radius",
                "taper",
                "bend",
                "bend_direction",
                "wave",
                "wave_direction",
                "offset",
                "start",
                "end",
                "light_elevation",
                "ambient",
                "gloss",
                "shininess",
                "vignette",
                "noise",
            ),
        )
        if not 0.05 <= self.radius <= 0.45:
            raise ValueError(f"StrawSpec.radius must be in [0.05, 0.45], got {self.radius}")
        if not 0.0 <= self.start < self.end <= 1.0 or self.end - self.start < 0.1:
            raise ValueError("StrawSpec.start/end must satisfy 0 <= start < end <= 1")
        if abs(self.taper) >= 0.5:
            raise ValueError("StrawSpec.taper must be in (-0.5, 0.5)")

    @property
    def defect_types(self) -> list[str]:
        present = {d.type for d in self.defects}
        return [t for t in DEFECT_TYPES if t in present]


@dataclass
class StrawView:
    """One rendered camera view of a straw."""

    image: np.ndarray  # HxWx3 uint8 RGB
    masks: dict[str, np.ndarray]  # defect type -> HxW uint8 0/255 (all DEFECT_TYPES)
    soft_masks: dict[str, np.ndarray]  # defect type -> HxW uint8, probability * 255
    camera_angle: float  # radians
    spec: StrawSpec | None = None
    straw_mask: np.ndarray | None = None  # HxW uint8 0/255: tube outline (incl. broken parts)
    centre_y: np.ndarray | None = None  # (W,) float32 axis row per column, NaN off the tube
    radius_px: np.ndarray | None = None  # (W,) float32 tube radius per column, NaN off the tube
    visible_defects: tuple[DefectSpec, ...] = field(default_factory=tuple)

    @property
    def defect_types(self) -> list[str]:
        """Defect types with at least one mask pixel in this view (canonical order)."""
        return [t for t in DEFECT_TYPES if t in self.masks and bool(self.masks[t].any())]


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def sample_defect(
    defect_type: str,
    seed: int,
    angle: float | None = None,
    x: float | None = None,
    variant: str | None = None,
) -> DefectSpec:
    """Sample the parameters of one defect of ``defect_type`` (deterministic in ``seed``).

    ``angle`` / ``x`` / ``variant`` override the sampled placement (for ``break`` variant
    ``end`` the position is the nearer tube end of ``x``)."""
    if defect_type not in DEFECT_TYPES:
        raise ValueError(f"unknown defect type {defect_type!r}; expected one of {DEFECT_TYPES}")
    rng = np.random.default_rng(
        [int(seed) & 0xFFFFFFFF, _S_DEFECT_SHAPE, DEFECT_TYPES.index(defect_type)]
    )
    a = float(rng.uniform(0.0, _TWO_PI))
    pos = float(rng.uniform(0.08, 0.92))
    shape_seed = int(rng.integers(0, 2**31 - 1))
    var = ""
    if defect_type == "crack":
        length, width, strength = (
            rng.uniform(0.04, 0.16),
            rng.uniform(0.014, 0.03),
            rng.uniform(0.65, 0.95),
        )
    elif defect_type == "split":
        length, width, strength = (
            rng.uniform(0.12, 0.35),
            rng.uniform(0.05, 0.11),
            rng.uniform(0.8, 1.0),
        )
    elif defect_type == "spot":
        length, width, strength = (
            rng.uniform(0.015, 0.05),
            rng.uniform(0.15, 0.5),
            rng.uniform(0.6, 0.95),
        )
    elif defect_type == "break":
        var = BREAK_VARIANTS[int(rng.choice(3, p=[0.35, 0.35, 0.3]))]
        strength = 1.0
        if var == "gap":
            length, width = rng.uniform(0.01, 0.035), _TWO_PI
        elif var == "end":
            length, width = rng.uniform(0.02, 0.08), rng.uniform(1.2, 4.0)
            pos = float(round(rng.random()))
        else:
            length, width = rng.uniform(0.02, 0.06), rng.uniform(0.4, 1.1)
    elif defect_type == "discoloration":
        length, width, strength = rng.uniform(0.05, 0.2), _TWO_PI, rng.uniform(0.55, 0.95)
    else:  # dent
        length, width, strength = (
            rng.uniform(0.025, 0.07),
            rng.uniform(0.4, 1.0),
            rng.uniform(0.6, 1.0),
        )
    if variant is not None:
        if defect_type != "break" or variant not in BREAK_VARIANTS:
            raise ValueError(f"invalid variant {variant!r} for {defect_type!r}")
        if variant != var:
            var = variant
            if var == "gap":
                length, width = min(length, 0.035), _TWO_PI
            elif var == "end":
                length, width = min(max(length, 0.02), 0.08), min(max(width, 1.2), 4.0)
            else:
                length, width = min(max(length, 0.02), 0.06), min(max(width, 0.4), 1.1)
    if angle is not None:
        a = float(angle) % _TWO_PI
    if x is not None:
        pos = float(min(max(x, 0.0), 1.0))
    if var == "end":
        pos = 0.0 if pos < 0.5 else 1.0
    return DefectSpec(
        type=defect_type,
        angle=a,
        x=pos,
        length=float(length),
        width=float(width),
        strength=float(strength),
        seed=shape_seed,
        variant=var,
    )


def _separate(defects: list[DefectSpec], rng: np.random.Generator) -> list[DefectSpec]:
    """Re-draw positions so that defects do not overlap along the axis (best effort)."""
    placed: list[DefectSpec] = []
    for d in defects:
        cand = d
        for _ in range(12):
            clash = any(abs(cand.x - p.x) < (cand.length + p.length) / 2 + 0.03 for p in placed)
            if not clash or cand.variant == "end":
                break
            cand = replace(cand, x=float(rng.uniform(0.08, 0.92)))
        placed.append(cand)
    return placed


def sample_straw(
    seed: int, defect_rates: dict[str, float] | None = None, max_defects: int = 3
) -> StrawSpec:
    """Sample a straw from ``seed``.

    ``defect_rates``: probability per defect type that the straw has that defect (default
    0.15 each; missing types use the default).  At most ``max_defects`` defects are kept.  The
    straw's appearance does not depend on ``defect_rates``, so the same seed with rates of zero
    gives the same straw without defects."""
    seed = int(seed)
    rates = dict.fromkeys(DEFECT_TYPES, DEFAULT_DEFECT_RATE)
    if defect_rates:
        unknown = set(defect_rates) - set(DEFECT_TYPES)
        if unknown:
            raise ValueError(f"unknown defect types in defect_rates: {sorted(unknown)}")
        rates.update({k: float(v) for k, v in defect_rates.items()})
    if max_defects < 0:
        raise ValueError("max_defects must be >= 0")

    rng = np.random.default_rng([seed & 0xFFFFFFFF, _S_APPEARANCE, seed >> 32 & 0xFFFFFFFF])
    i, j = rng.choice(len(_STRAW_PALETTE), size=2, replace=False)
    base = np.clip(_STRAW_PALETTE[i] + rng.normal(0.0, 8.0, 3), 90.0, 245.0)
    tint = np.clip(
        0.5 * (_STRAW_PALETTE[j] + base) * rng.uniform(0.8, 0.95) + rng.normal(0.0, 6.0, 3),
        60.0,
        240.0,
    )
    dark_bg = rng.random() < 0.6
    if dark_bg:
        bg = rng.uniform(18.0, 60.0) + rng.normal(0.0, 4.0, 3)
    else:
        bg = rng.uniform(175.0, 225.0) + rng.normal(0.0, 5.0, 3)
    radius = float(rng.uniform(0.28, 0.37))
    bend = float(rng.uniform(0.0, 0.09))
    spec_kwargs = dict(
        straw_color=tuple(float(v) for v in base),
        tint_color=tuple(float(v) for v in tint),
        color_variation=float(rng.uniform(0.15, 0.6)),
        fibre_strength=float(rng.uniform(0.05, 0.12)),
        radius=radius,
        taper=float(rng.uniform(-0.12, 0.12)),
        bend=bend,
        bend_direction=float(rng.uniform(0.0, _TWO_PI)),
        wave=float(rng.uniform(0.0, 0.025)),
        wave_direction=float(rng.uniform(0.0, _TWO_PI)),
        offset=float(rng.uniform(-0.04, 0.04)),
        start=float(rng.uniform(0.01, 0.06)),
        end=float(rng.uniform(0.94, 0.99)),
        background_color=tuple(float(v) for v in np.clip(bg, 0.0, 255.0)),
        light_elevation=float(rng.uniform(0.25, 0.6)),
        ambient=float(rng.uniform(0.3, 0.45)),
        gloss=float(rng.uniform(0.08, 0.3)),
        shininess=float(rng.uniform(12.0, 40.0)),
        vignette=float(rng.uniform(0.03, 0.15)),
        noise=float(rng.uniform(1.0, 3.0)),
    )

    drng = np.random.default_rng([seed & 0xFFFFFFFF, _S_DEFECT_PICK, seed >> 32 & 0xFFFFFFFF])
    draws = drng.random(len(DEFECT_TYPES))
    sub_seeds = drng.integers(0, 2**31 - 1, size=len(DEFECT_TYPES))
    chosen = [k for k, t in enumerate(DEFECT_TYPES) if draws[k] < rates[t]]
    if len(chosen) > max_defects:
        chosen = sorted(int(k) for k in drng.choice(chosen, size=max_defects, replace=False))
    defects = [sample_defect(DEFECT_TYPES[k], int(sub_seeds[k])) for k in chosen]
    prng = np.random.default_rng([seed & 0xFFFFFFFF, _S_PLACEMENT, seed >> 32 & 0xFFFFFFFF])
    defects = _separate(defects, prng)
    return StrawSpec(seed=seed, defects=tuple(defects), **spec_kwargs)


# --------------------------------------------------------------------------------------------
# Texture synthesis helpers
# --------------------------------------------------------------------------------------------


def _periodic_noise(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Smooth periodic 1D noise (std 1) of length n, correlation length ~sigma samples."""
    z = rng.standard_normal(n)
    if sigma > 0:
        f = np.fft.rfftfreq(n)
        z = np.fft.irfft(np.fft.rfft(z) * np.exp(-2.0 * (math.pi * f * sigma) ** 2), n)
    z -= z.mean()
    return (z / (z.std() + 1e-9)).astype(np.float32)


def _smooth_noise_1d(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """Smooth (non periodic) 1D noise, std ~1, with ``knots`` control points."""
    k = max(2, knots)
    pts = rng.standard_normal(k + 2)
    return np.interp(np.linspace(1.0, k, n), np.arange(k + 2), pts).astype(np.float32)


def _smooth_noise_2d(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth 2D noise (values ~N(0,1) at control points), control-point spacing ``cell``."""
    h, w = shape
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


class _Roi:
    """A rectangle of the cylindrical texture, wrapping around in angle."""

    def __init__(
        self, na: int, nx: int, row_centre: float, half_rows: float, x_lo: float, x_hi: float
    ) -> None:
        lo, hi = math.floor(row_centre - half_rows), math.ceil(row_centre + half_rows) + 1
        if hi - lo >= na:
            idx = np.arange(na)
            du = (idx - row_centre + na / 2.0) % na - na / 2.0
            self.rows = idx
        else:
            idx = np.arange(lo, hi)
            du = idx - row_centre
            self.rows = idx % na
        self.du = du.astype(np.float32)[:, None]
        self.j_lo = max(0, math.floor(x_lo))
        self.j_hi = min(nx, math.ceil(x_hi) + 1)
        self.x = np.arange(self.j_lo, self.j_hi, dtype=np.float32)[None, :]

    @property
    def empty(self) -> bool:
        return self.j_hi <= self.j_lo

    def get(self, arr: np.ndarray) -> np.ndarray:
        return arr[self.rows, self.j_lo : self.j_hi]

    def put(self, arr: np.ndarray, value: np.ndarray) -> None:
        arr[self.rows, self.j_lo : self.j_hi] = value


def _to_u8(unit: np.ndarray) -> np.ndarray:
    """0..1 float -> 0..255 uint8 (rounded)."""
    return (np.clip(unit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _with_border(cov: np.ndarray, border: np.ndarray) -> np.ndarray:
    """Label coverage: the defect plus its altered border (lips, rims) as a disputed zone
    (below 0.5, so it shows up in the soft mask but not in the hard mask)."""
    return np.maximum(cov, np.where(border > 0, np.float32(0.4), np.float32(0.0)))


class _Painter:
    """Paints defects into the cylindrical texture of one straw at one resolution."""

    def __init__(
        self,
        tex: np.ndarray,
        scale: float,
        len_px: float,
        x0_px: float,
        base: np.ndarray,
        min_px: float,
    ) -> None:
        self.tex = tex  # (na, nx, 4) uint8: RGB albedo + hole (0..255)
        self.na, self.nx = tex.shape[:2]
        self.scale = scale  # texels (rows) per radian
        self.len_px = len_px  # tube length in texels (columns)
        self.x0_px = x0_px  # column of x = 0 (texel units)
        self.base = base  # (3,) base straw colour
        self.min_px = min_px  # minimum feature width in texels

    def _centre(self, d: DefectSpec) -> tuple[float, float]:
        return d.angle * self.scale, self.x0_px + d.x * self.len_px

    def _alb(self, roi: _Roi) -> np.ndarray:
        return roi.get(self.tex)[..., :3].astype(np.float32)

    def _put_alb(self, roi: _Roi, alb: np.ndarray) -> None:
        cur = roi.get(self.tex)
        cur[..., :3] = np.clip(alb + 0.5, 0.0, 255.0).astype(np.uint8)
        roi.put(self.tex, cur)

    def _add_hole(self, roi: _Roi, cov: np.ndarray) -> None:
        cur = roi.get(self.tex)
        cur[..., 3] = np.maximum(cur[..., 3], _to_u8(cov))
        roi.put(self.tex, cur)

    def _full_cov(self, roi: _Roi, cov: np.ndarray) -> tuple[np.ndarray, int, int]:
        out = np.zeros((self.na, self.nx), np.uint8)
        roi.put(out, _to_u8(cov))
        return out, roi.j_lo, roi.j_hi

    # -- individual defect types ------------------------------------------------------------

    def paint(self, d: DefectSpec) -> tuple[np.ndarray, int, int] | None:
        rng = np.random.default_rng(
            [d.seed & 0xFFFFFFFF, _S_DEFECT_SHAPE + 1, DEFECT_TYPES.index(d.type)]
        )
        fn = getattr(self, "_paint_" + d.type)
        return fn(d, rng)

    def _line(
        self,
        d: DefectSpec,
        rng: np.random.Generator,
        w0: float,
        length: float,
        wander: float,
        ragged: float,
    ) -> tuple[_Roi, np.ndarray, np.ndarray]:
        """Lens-shaped line along the axis: returns roi, coverage and distance past the edge."""
        rc, xc = self._centre(d)
        roi = _Roi(
            self.na, self.nx, rc, wander * 2.5 + w0 + 4, xc - length / 2 - 1, xc + length / 2 + 1
        )
        t = (roi.x - (xc - length / 2)) / length
        tt = np.clip(t, 0.0, 1.0)
        centre = np.zeros_like(t)
        for k in range(1, 4):
            centre += (
                (wander / k)
                * rng.uniform(-1.0, 1.0)
                * np.sin(math.pi * k * tt + rng.uniform(0, _TWO_PI))
            )
        centre -= centre[0, centre.shape[1] // 2] if centre.shape[1] else 0.0
        prof = np.where((t > 0) & (t < 1), np.clip(np.sin(math.pi * tt), 0.0, 1.0) ** 0.7, 0.0)
        width = w0 * prof * (1.0 + ragged * _smooth_noise_1d(rng, t.shape[1], 12)[None, :])
        # at least one texel wide along its whole length, so that the tips are labelled too
        width = np.where(prof > 0, np.maximum(width, 1.0), 0.0)
        edge = np.abs(roi.du - centre) - width / 2.0
        cov = np.clip(0.5 - edge, 0.0, 1.0) * (width > 0)
        return roi, cov.astype(np.float32), edge.astype(np.float32)

    def _paint_crack(self, d: DefectSpec, rng: np.random.Generator):
        w0 = max(d.width * self.scale, self.min_px * 1.3)
        length = max(d.length * self.len_px, 6.0)
        roi, cov, edge = self._line(
            d, rng, w0, length, wander=rng.uniform(0.6, 2.0) * w0**0.5, ragged=0.12
        )
        if roi.empty:
            return None
        alb = self._alb(roi)
        lip = np.clip(1.0 - np.abs(edge - 1.0), 0.0, 1.0) * (cov.max(axis=0, keepdims=True) > 0)
        fac = (1.0 - 0.8 * d.strength * cov) * (1.0 + 0.08 * d.strength * lip)
        self._put_alb(roi, alb * fac[..., None])
        return self._full_cov(roi, _with_border(cov, lip))

    def _paint_split(self, d: DefectSpec, rng: np.random.Generator):
        w0 = max(d.width * self.scale, self.min_px * 3.0)
        length = max(d.length * self.len_px, 10.0)
        roi, cov, edge = self._line(
            d, rng, w0, length, wander=rng.uniform(0.5, 1.5) * w0**0.5, ragged=0.2
        )
        if roi.empty:
            return None
        cov *= d.strength**0.25
        alb = self._alb(roi)
        lips = np.clip(1.0 - edge / (0.3 * w0 + 1.5), 0.0, 1.0) * (edge > -0.5)
        lips *= cov.max(axis=0, keepdims=True) > 0
        self._put_alb(roi, alb * (1.0 - 0.35 * d.strength * lips)[..., None])
        self._add_hole(roi, cov)
        return self._full_cov(roi, _with_border(cov, lips))

    def _paint_spot(self, d: DefectSpec, rng: np.random.Generator):
        rc, xc = self._centre(d)
        ha = max(d.width / 2 * self.scale, 2.5 * self.min_px)
        hl = max(d.length / 2 * self.len_px, 2.5 * self.min_px)
        roi = _Roi(self.na, self.nx, rc, ha * 1.4 + 3, xc - hl * 1.4 - 3, xc + hl * 1.4 + 3)
        if roi.empty:
            return None
        du, dx = roi.du, roi.x - xc
        fld = np.zeros((du.shape[0], dx.shape[1]), np.float32)
        n_blobs = int(rng.integers(1, 6))
        for k in range(n_blobs):
            cu, cx = (
                (0.0, 0.0)
                if k == 0
                else (rng.uniform(-0.55, 0.55) * ha, rng.uniform(-0.55, 0.55) * hl)
            )
            su, sx = ha * rng.uniform(0.25, 0.5), hl * rng.uniform(0.25, 0.5)
            amp = 1.0 if k == 0 else rng.uniform(0.6, 1.1)
            fld += amp * np.exp(-0.5 * ((du - cu) / su) ** 2 - 0.5 * ((dx - cx) / sx) ** 2)
        fld += 0.15 * _smooth_noise_2d(rng, fld.shape, max(2.0, min(ha, hl) / 3))
        cov = np.clip((fld - 0.5) / 0.1 + 0.5, 0.0, 1.0)
        mould = _MOULD_COLORS[int(rng.integers(len(_MOULD_COLORS)))].astype(np.float32)
        alb = self._alb(roi)
        lum = alb.mean(axis=2, keepdims=True) / float(self.base.mean())
        k = (cov * d.strength * (0.8 + 0.2 * np.clip(fld, 0.0, 1.5) / 1.5))[..., None]
        self._put_alb(roi, alb + (mould * lum - alb) * k)
        return self._full_cov(roi, cov)

    def _paint_break(self, d: DefectSpec, rng: np.random.Generator):
        rc, xc = self._centre(d)
        if d.variant == "gap":
            gap = max(d.length * self.len_px, 2.5 * self.min_px)
            wobble = rng.uniform(0.1, 0.25) * gap + 0.5
            sliver = rng.uniform(0.3, 0.7) * gap + 1.0
            lo, hi = xc - gap / 2 - 2 * wobble - 3, xc + gap / 2 + 2 * wobble + 3
            roi = _Roi(self.na, self.nx, rc, self.na, lo, hi)
            if roi.empty:
                return None

            def edge() -> np.ndarray:
                # smooth wobble plus splinters: slivers of fibre sticking out into the gap
                smooth = np.clip(_periodic_noise(rng, self.na, max(2.0, self.na / 40)), -2, 2)
                fine = _periodic_noise(rng, self.na, max(1.2, self.na / 180))
                return wobble * smooth + sliver * np.clip(fine - 0.5, 0.0, 2.5) ** 1.3

            left = (xc - gap / 2 + edge())[roi.rows][:, None]
            right = (xc + gap / 2 - edge())[roi.rows][:, None]
            right = np.maximum(right, left + 1.5 * self.min_px)
            dist = np.minimum(roi.x - left, right - roi.x)
        elif d.variant == "end":
            depth = max(d.length * self.len_px, 3.0 * self.min_px)
            at_start = d.x < 0.5
            xe = 0.0 if at_start else float(self.nx)
            ha = d.width / 2 * self.scale
            roi = _Roi(self.na, self.nx, rc, ha + 2, xe - 1.6 * depth - 2, xe + 1.6 * depth + 2)
            if roi.empty:
                return None
            jag = (
                1.0
                + 0.25
                * np.clip(_periodic_noise(rng, self.na, max(1.0, self.na / 50)), -2, 2)[roi.rows][
                    :, None
                ]
            )
            if d.full_circumference:
                prof = 0.7 + 0.3 * np.clip(np.cos(roi.du / self.scale), 0.0, 1.0)
            else:
                prof = np.clip(1.0 - (roi.du / ha) ** 2, 0.0, 1.0) ** 0.6
            from_end = (roi.x + 0.5) if at_start else (xe - roi.x - 0.5)
            dist = depth * prof * jag - from_end
        else:  # notch
            ha = max(d.width / 2 * self.scale, 3.0 * self.min_px)
            hl = max(d.length / 2 * self.len_px, 3.0 * self.min_px)
            roi = _Roi(self.na, self.nx, rc, ha * 1.4 + 2, xc - hl * 1.4 - 2, xc + hl * 1.4 + 2)
            if roi.empty:
                return None
            nu, nx_ = roi.du / ha, (roi.x - xc) / hl
            ang = np.arctan2(nu, nx_)
            rmod = np.ones_like(ang)
            for k in range(2, 7):
                rmod += rng.uniform(0.02, 0.09) * np.cos(k * ang + rng.uniform(0, _TWO_PI))
            dist = (1.0 - np.sqrt(nu * nu + nx_ * nx_) / rmod) * min(ha, hl)
        cov = np.clip(dist + 0.5, 0.0, 1.0).astype(np.float32)
        # the broken wall's cut edge is lighter than the surface
        rim = np.clip(1.0 - np.abs(dist + 1.0) / 1.2, 0.0, 1.0) * (dist < -0.5)
        alb = self._alb(roi)
        self._put_alb(roi, alb * (1.0 + 0.18 * rim)[..., None])
        self._add_hole(roi, cov)
        return self._full_cov(roi, _with_border(cov, rim))

    def _paint_discoloration(self, d: DefectSpec, rng: np.random.Generator):
        rc, xc = self._centre(d)
        band = max(d.length * self.len_px, 4.0 * self.min_px)
        feather = max(1.5, band * rng.uniform(0.08, 0.2))
        jag = 0.08 * band + 1.0
        roi = _Roi(
            self.na,
            self.nx,
            rc,
            self.na,
            xc - band / 2 - 2.5 * jag - 2 * feather - 2,
            xc + band / 2 + 2.5 * jag + 2 * feather + 2,
        )
        if roi.empty:
            return None
        sig = max(2.0, self.na / 25)
        left = xc - band / 2 + jag * np.clip(_periodic_noise(rng, self.na, sig), -2.5, 2.5)
        right = xc + band / 2 + jag * np.clip(_periodic_noise(rng, self.na, sig), -2.5, 2.5)
        left, right = left[roi.rows][:, None], right[roi.rows][:, None]
        cov = np.clip(np.minimum(roi.x - left, right - roi.x) / feather + 0.5, 0.0, 1.0)
        dist_to_base = np.abs(_DISCOLOR_COLORS - self.base[None, :]).sum(axis=1)
        candidates = np.flatnonzero(dist_to_base > 90.0)
        if candidates.size == 0:
            candidates = np.array([int(np.argmax(dist_to_base))])
        target = _DISCOLOR_COLORS[int(rng.choice(candidates))].astype(np.float32)
        ratio = target / self.base.astype(np.float32)
        mottle = 0.8 + 0.2 * np.clip(_smooth_noise_2d(rng, cov.shape, max(3.0, band / 3)), -1, 1)
        k = (cov * d.strength * mottle)[..., None]
        alb = self._alb(roi)
        self._put_alb(roi, alb * (1.0 + (ratio - 1.0) * k))
        return self._full_cov(roi, cov.astype(np.float32))

    def _paint_dent(self, d: DefectSpec, rng: np.random.Generator):
        rc, xc = self._centre(d)
        ha = max(d.width / 2 * self.scale, 3.0 * self.min_px)
        hl = max(d.length / 2 * self.len_px, 3.0 * self.min_px)
        roi = _Roi(self.na, self.nx, rc, ha * 1.25 + 3, xc - hl * 1.25 - 3, xc + hl * 1.25 + 3)
        if roi.empty:
            return None
        nu, nx_ = roi.du / ha, (roi.x - xc) / hl
        ang = np.arctan2(nu, nx_)
        rmod = (
            1.0
            + rng.uniform(0.03, 0.12) * np.cos(2 * ang + rng.uniform(0, _TWO_PI))
            + rng.uniform(0.02, 0.08) * np.cos(3 * ang + rng.uniform(0, _TWO_PI))
        )
        dd = np.sqrt(nu * nu + nx_ * nx_) / rmod
        inner = np.clip(1.0 - dd * dd, 0.0, 1.0)
        bump = inner**1.5
        # squeeze: fibres are pulled together inside the dent
        alb = np.ascontiguousarray(self._alb(roi), dtype=np.float32)
        pinch = 0.45 * d.strength
        src_row = (roi.du * (1.0 + pinch * bump) - roi.du[0, 0]).astype(np.float32)
        src_col = np.broadcast_to(roi.x - roi.j_lo, src_row.shape).astype(np.float32)
        warped = cv2.remap(alb, src_col, src_row, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        # shading of the depression: light from above -> upper inner wall dark, lower lit
        slope = -2.0 * nu * inner
        fac = 1.0 - d.strength * (0.32 * bump + 0.35 * slope)
        fac = np.clip(fac, 0.35, 1.35)
        self._put_alb(roi, warped * fac[..., None])
        cov = np.clip((1.0 - dd) / 0.4, 0.0, 1.0)
        return self._full_cov(roi, cov.astype(np.float32))


# --------------------------------------------------------------------------------------------
# Per-(spec, size) preparation (cached)
# --------------------------------------------------------------------------------------------


@dataclass
class _PreparedDefect:
    spec: DefectSpec
    cov: np.ndarray  # (na, nx) uint8 coverage (0..255) in texture space
    j_lo: int
    j_hi: int


@dataclass
class _Prepared:
    height: int
    width: int
    col0: int
    nx: int
    na: int
    scale: float
    axis_y: np.ndarray  # (nx,) axis row without bend
    bow1: np.ndarray  # (nx,) bend profile, px
    bow2: np.ndarray  # (nx,) wave profile, px
    radius_px: np.ndarray  # (nx,)
    col_alpha: np.ndarray  # (nx,) coverage of the tube ends
    vignette: np.ndarray  # (nx,)
    map_x: np.ndarray  # (height, nx) float32 texel column per pixel
    tex: np.ndarray  # (na, nx, 4) uint8 albedo RGB + hole
    hole: np.ndarray | None  # (na, nx) uint8 or None when no holes
    defects: list[_PreparedDefect]
    background: np.ndarray  # (3, height, width) float32, planar
    spec_rgb: np.ndarray  # (3,) float32 specular colour * gloss


def _seed_words(seed: int, stream: int) -> list[int]:
    return [seed & 0xFFFFFFFF, stream, (seed >> 32) & 0xFFFFFFFF]


def _build_texture(spec: StrawSpec, na: int, nx: int) -> np.ndarray:
    """Cylindrical albedo texture (na angles x nx axial positions, RGB + empty hole channel).

    Streaks vary fast around the angle and slowly along the axis, so the texture is synthesised
    at a quarter of the axial resolution and stretched (cheap and visually identical)."""
    rng = np.random.default_rng(_seed_words(spec.seed, _S_TEXTURE))
    nxl = max(8, nx // 4)
    sig = na / 400.0
    # fibre streaks: thin lines along the axis = noise over the angle, mixed along the length
    fines = [_periodic_noise(rng, na, max(0.6, 1.0 * sig)) for _ in range(3)]
    weights = np.stack([np.exp(0.8 * _smooth_noise_1d(rng, nxl, 6)) for _ in range(3)])
    weights /= weights.sum(axis=0, keepdims=True)
    fine = sum(f[:, None] * w[None, :] for f, w in zip(fines, weights, strict=True))
    med = _periodic_noise(rng, na, max(1.5, 4.0 * sig))
    coarse = _periodic_noise(rng, na, max(4.0, 16.0 * sig))
    aniso = cv2.resize(
        rng.standard_normal((na, max(4, nx // 24))).astype(np.float32),
        (nxl, na),
        interpolation=cv2.INTER_LINEAR,
    )
    dark = np.clip(fines[0] - 1.6, 0.0, None)[:, None] * (0.6 + 0.4 * np.tanh(aniso))
    along = 0.04 * _smooth_noise_1d(rng, nxl, 8)
    fs = spec.fibre_strength
    lum = (
        1.0
        + fs * (0.55 * fine + 0.35 * aniso)
        + fs * (0.45 * med + 0.4 * coarse)[:, None]
        - 0.5 * fs * dark
        + along[None, :]
    )
    # natural colour variation: smooth, periodic in angle
    a = np.linspace(0.0, _TWO_PI, na, endpoint=False, dtype=np.float32)
    t = np.zeros((na, nxl), np.float32) + 0.6 * _smooth_noise_1d(rng, nxl, 5)[None, :]
    for k in (1, 2, 3):
        wave = np.cos(k * a + rng.uniform(0, _TWO_PI))
        t += (0.9 / k) * wave[:, None] * _smooth_noise_1d(rng, nxl, 4 + 2 * k)[None, :]
    t = (0.5 + 0.5 * np.tanh(t)) * spec.color_variation
    planes = [
        ((b + (ti - b) * t) * lum).astype(np.float32)
        for b, ti in zip(spec.straw_color, spec.tint_color, strict=True)
    ]
    low = cv2.merge([*planes, np.zeros((na, nxl), np.float32)])
    low = np.clip(low + 0.5, 0.0, 255.0).astype(np.uint8)
    return cv2.resize(low, (nx, na), interpolation=cv2.INTER_LINEAR)


def _build_background(spec: StrawSpec, h: int, w: int) -> np.ndarray:
    """Static background of the camera, planar (3, h, w) float32."""
    rng = np.random.default_rng(_seed_words(spec.seed, _S_BACKGROUND))
    grad = _smooth_noise_2d(rng, (h, w), max(h, w) / 3.0)
    grain = rng.random((max(2, h // 2), max(2, w // 2)), dtype=np.float32) - np.float32(0.5)
    grain = cv2.resize(grain, (w, h), interpolation=cv2.INTER_LINEAR)
    streak = cv2.resize(
        rng.standard_normal((max(2, h // 3), 8)).astype(np.float32),
        (w, h),
        interpolation=cv2.INTER_LINEAR,
    )
    rel = 1.0 + 0.05 * grad + 0.02 * streak
    level = float(np.mean(spec.background_color))
    grain *= np.float32(3.5 * (0.012 * level + 1.5))
    bg = np.empty((3, h, w), np.float32)
    for c, value in enumerate(spec.background_color):
        np.clip(np.float32(value) * rel + grain, 0.0, 255.0, out=bg[c])
    return bg


@functools.lru_cache(maxsize=4)
def _sensor_noise(size: tuple[int, int]) -> np.ndarray:
    """Unit-variance noise field shared by all straws of one size; views take random windows."""
    h, w = size
    rng = np.random.default_rng([_S_NOISE, h, w])
    noise = rng.standard_normal((h + _NOISE_PAD, w + _NOISE_PAD), dtype=np.float32)
    noise.flags.writeable = False
    return noise


@functools.lru_cache(maxsize=8)
def _prepare(spec: StrawSpec, size: tuple[int, int]) -> _Prepared:
    h, w = size
    start_px, end_px = spec.start * w, spec.end * w
    col0, col1 = math.floor(start_px), min(w, math.ceil(end_px))
    nx = col1 - col0
    len_px = end_px - start_px
    cols = np.arange(col0, col1, dtype=np.float64)
    u = np.clip((cols + 0.5 - start_px) / len_px, 0.0, 1.0)
    col_alpha = np.clip(np.minimum(cols + 1.0, end_px) - np.maximum(cols, start_px), 0.0, 1.0)
    radius_px = spec.radius * h * (1.0 + spec.taper * (u - 0.5))
    r_max = float(radius_px.max())
    na = max(64, int(math.ceil(_TWO_PI * r_max / 8.0)) * 8)
    scale = na / _TWO_PI
    axis_y = np.full(nx, h / 2.0 + spec.offset * h)
    bow1 = spec.bend * h * 4.0 * u * (1.0 - u)
    bow2 = spec.wave * h * np.sin(_TWO_PI * u)
    vignette = 1.0 - spec.vignette * (2.0 * u - 1.0) ** 2

    tex = _build_texture(spec, na, nx)
    base = np.asarray(spec.straw_color, np.float32)
    painter = _Painter(tex, scale, len_px, start_px - col0 - 0.5, base, min_px=max(1.0, h / 256))
    order = sorted(
        range(len(spec.defects)), key=lambda i: (_PAINT_ORDER.index(spec.defects[i].type), i)
    )
    painted: dict[int, _PreparedDefect] = {}
    for i in order:
        d = spec.defects[i]
        res = painter.paint(d)
        if res is not None:
            cov, j_lo, j_hi = res
            painted[i] = _PreparedDefect(d, cov, j_lo, j_hi)
    defects = [painted[i] for i in sorted(painted)]
    has_hole = any(p.spec.type in _HOLE_TYPES for p in defects)
    hole = np.ascontiguousarray(tex[..., 3]) if has_hole else None

    map_x = np.broadcast_to(np.arange(nx, dtype=np.float32)[None, :], (h, nx)).copy()
    prepared = _Prepared(
        height=h,
        width=w,
        col0=col0,
        nx=nx,
        na=na,
        scale=scale,
        axis_y=axis_y.astype(np.float32),
        bow1=bow1.astype(np.float32),
        bow2=bow2.astype(np.float32),
        radius_px=radius_px.astype(np.float32),
        col_alpha=col_alpha.astype(np.float32),
        vignette=vignette.astype(np.float32),
        map_x=map_x,
        tex=tex,
        hole=hole,
        defects=defects,
        background=_build_background(spec, h, w),
        spec_rgb=(np.array([255.0, 249.0, 232.0], np.float32) * np.float32(spec.gloss)),
    )
    for arr in (prepared.tex, prepared.background, prepared.map_x):
        arr.flags.writeable = False
    for p in defects:
        p.cov.flags.writeable = False
    return prepared


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    h, w = (int(v) for v in size)
    if h < 16 or w < 32:
        raise ValueError(f"size must be at least (16, 32) as (height, width), got {size}")
    return h, w


def _soft_from_hard(hard: np.ndarray, ring: float) -> np.ndarray:
    """Feathered border: >=128 exactly on the hard mask, 255 in the core, 0 far outside."""
    inside = cv2.distanceTransform(hard, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(np.bitwise_not(hard), cv2.DIST_L2, 5)
    val_in = 128.0 + 127.0 * np.clip((inside - 0.5) / ring, 0.0, 1.0)
    val_out = 127.0 * np.clip(1.0 - (outside - 0.5) / ring, 0.0, 1.0)
    return np.where(hard > 0, val_in, val_out).astype(np.float32)


def render_view(
    spec: StrawSpec, camera_angle: float = 0.0, size: tuple[int, int] = DEFAULT_SIZE
) -> StrawView:
    """Render the straw as seen by a camera at ``camera_angle`` (radians around the axis)."""
    h, w = _check_size(size)
    theta = float(camera_angle)
    if not math.isfinite(theta):
        raise ValueError("camera_angle must be finite")
    p = _prepare(spec, (h, w))
    f32 = np.float32
    c0, c1 = p.col0, p.col0 + p.nx

    # --- geometry of this view
    yc = (
        p.axis_y
        + p.bow1 * f32(math.sin(spec.bend_direction - theta))
        + p.bow2 * f32(math.sin(spec.wave_direction - theta))
    )
    r = p.radius_px
    y_lo = max(0, math.floor(float((yc - r).min())) - 1)
    y_hi = min(h, math.ceil(float((yc + r).max())) + 2)
    ys = np.arange(y_lo, y_hi, dtype=f32)[:, None] + f32(0.5)
    v = (ys - yc[None, :]) / r[None, :]
    alpha = np.clip((1.0 - np.abs(v)) * r[None, :] + 0.5, 0.0, 1.0) * p.col_alpha[None, :]
    vc = np.clip(v, -1.0, 1.0)
    phi = np.arcsin(vc)
    cosphi = np.sqrt(1.0 - vc * vc)
    theta_rows = f32((theta % _TWO_PI) * p.scale)
    # BORDER_WRAP makes the angle periodic, so no modulo is needed on the map
    map_y = phi * f32(p.scale) + theta_rows
    map_x = p.map_x[: y_hi - y_lo]
    tex = cv2.split(cv2.remap(p.tex, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP))

    # --- background (planar, 3 x h x w) with a soft shadow of the tube
    out = p.background.copy()
    light_bg = float(np.mean(spec.background_color)) > 110.0
    sh_strength = 0.28 if light_bg else 0.12
    sh_lo, sh_hi = y_lo, min(h, y_hi + math.ceil(float(r.max()) * 0.5) + 2)
    ys_sh = np.arange(sh_lo, sh_hi, dtype=f32)[:, None] + f32(0.5)
    dist = np.abs(ys_sh - (yc + 0.18 * r)[None, :]) - r[None, :]
    shadow = np.clip(1.0 - dist / (0.35 * r[None, :]), 0.0, 1.0)
    shadow *= shadow
    shadow *= p.col_alpha[None, :]
    out[:, sh_lo:sh_hi, c0:c1] *= (1.0 - sh_strength * shadow)[None]

    # --- cylinder shading: Lambert + specular band, light from above the camera
    el = spec.light_elevation
    diffuse = np.maximum(cosphi * f32(math.cos(el)) - vc * f32(math.sin(el)), 0.0)
    shade = (f32(spec.ambient) + f32(1.0 - spec.ambient) * diffuse) * p.vignette[None, :]
    half = np.clip(cosphi * f32(math.cos(el / 2)) - vc * f32(math.sin(el / 2)), 1e-6, 1.0)
    spec_term = np.exp(f32(spec.shininess) * np.log(half))

    hole_front = hole_back = interior_fac = None
    if p.hole is not None and int(tex[3].max()) > 0:
        hole_front = tex[3] * f32(1.0 / 255.0)
        map_yb = f32((theta % _TWO_PI + math.pi) * p.scale) - phi * f32(p.scale)
        hole_back = cv2.remap(
            p.hole, map_x, map_yb, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP
        ) * f32(1.0 / 255.0)
        interior_fac = 0.12 + 0.16 * cosphi
    for c in range(3):
        bg_c = out[c, y_lo:y_hi, c0:c1]
        rgb = tex[c] * shade + spec_term * p.spec_rgb[c]
        if hole_back is not None:
            # through a hole: the inside of the far wall (dark), or background if also missing
            interior = tex[c] * interior_fac
            behind = interior + (bg_c - interior) * hole_back
            rgb += (behind - rgb) * hole_front
        bg_c += (rgb - bg_c) * alpha

    # --- sensor noise: a view-dependent window of a shared noise field
    key = round((theta % _TWO_PI) * 1e6)
    vrng = np.random.default_rng(_seed_words(spec.seed, _S_VIEW) + [key])
    oy, ox = (int(v_) for v_ in vrng.integers(0, _NOISE_PAD + 1, size=2))
    noise = _sensor_noise((h, w))[oy : oy + h, ox : ox + w] * f32(spec.noise) + f32(0.5)
    out += noise[None]
    np.clip(out, 0.0, 255.0, out=out)
    image = cv2.merge(list(out.astype(np.uint8)))

    # --- masks
    masks = {t: np.zeros((h, w), np.uint8) for t in DEFECT_TYPES}
    soft_masks = {t: np.zeros((h, w), np.uint8) for t in DEFECT_TYPES}
    per_type: dict[str, list[tuple[int, int, np.ndarray, bool]]] = {}
    visible: list[DefectSpec] = []
    for pd in p.defects:
        d = pd.spec
        vis = d.visible_from(theta)
        mx = np.ascontiguousarray(map_x[:, pd.j_lo : pd.j_hi])
        my = np.ascontiguousarray(map_y[:, pd.j_lo : pd.j_hi])
        cov = cv2.remap(pd.cov, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        cov = cov * f32(1.0 / 255.0)
        cov *= alpha[:, pd.j_lo : pd.j_hi]
        if hole_front is not None and d.type not in _HOLE_TYPES:
            cov *= 1.0 - hole_front[:, pd.j_lo : pd.j_hi]
        if not bool((cov >= 0.5).any()):
            vis = False
        if vis:
            visible.append(d)
        per_type.setdefault(d.type, []).append((c0 + pd.j_lo, c0 + pd.j_hi, cov, vis))

    ring_scale = h / 256.0
    for t, entries in per_type.items():
        x_lo = min(e[0] for e in entries)
        x_hi = max(e[1] for e in entries)
        ring = max(1.0, _SOFT_RING[t] * ring_scale)
        pad = int(math.ceil(ring)) + 2
        rx_lo, rx_hi = max(c0, x_lo - pad), min(c1, x_hi + pad)
        hard = np.zeros((y_hi - y_lo, rx_hi - rx_lo), np.uint8)
        cov_vis = np.zeros(hard.shape, np.float32)
        cov_part = np.zeros(hard.shape, np.float32)
        for ex_lo, ex_hi, cov, vis in entries:
            sl = np.s_[:, ex_lo - rx_lo : ex_hi - rx_lo]
            if vis:
                hard[sl][cov >= 0.5] = 255
                np.maximum(cov_vis[sl], cov, out=cov_vis[sl])
            else:
                np.maximum(cov_part[sl], cov, out=cov_part[sl])
        if hard.any():
            soft = _soft_from_hard(hard, ring)
            outside = hard == 0
            soft[outside] = np.maximum(soft[outside], np.minimum(cov_vis[outside] * 255.0, 127.0))
        else:
            soft = np.zeros(hard.shape, np.float32)
            outside = np.ones(hard.shape, bool)
        part = np.where(cov_part >= 0.5, float(PARTIAL_SOFT_VALUE), cov_part * PARTIAL_SOFT_VALUE)
        soft[outside] = np.maximum(soft[outside], part[outside])
        soft *= alpha[:, rx_lo - c0 : rx_hi - c0] > 0.0
        masks[t][y_lo:y_hi, rx_lo:rx_hi] = hard
        soft_masks[t][y_lo:y_hi, rx_lo:rx_hi] = np.rint(soft).astype(np.uint8)

    straw_mask = np.zeros((h, w), np.uint8)
    straw_mask[y_lo:y_hi, c0:c1] = np.where(alpha >= 0.5, 255, 0).astype(np.uint8)
    centre_y = np.full(w, np.nan, np.float32)
    centre_y[c0:c1] = yc
    radius_px = np.full(w, np.nan, np.float32)
    radius_px[c0:c1] = r
    return StrawView(
        image=image,
        masks=masks,
        soft_masks=soft_masks,
        camera_angle=theta,
        spec=spec,
        straw_mask=straw_mask,
        centre_y=centre_y,
        radius_px=radius_px,
        visible_defects=tuple(visible),
    )


def render_views(
    spec: StrawSpec, n_views: int, size: tuple[int, int] = DEFAULT_SIZE
) -> list[StrawView]:
    """Render ``n_views`` cameras evenly spaced around the axis (camera k at 2*pi*k/n)."""
    if n_views < 1:
        raise ValueError("n_views must be >= 1")
    return [render_view(spec, _TWO_PI * k / n_views, size) for k in range(n_views)]


def generate(
    seed: int,
    defect_type: str | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    negative: bool = False,
) -> StrawView:
    """One training sample: a single view of a straw sampled from ``seed``.

    ``negative=True``: a straw without any defect.  ``defect_type`` set: the straw has exactly
    one defect of that type, placed facing the camera so that it is visible (non-empty mask).
    Otherwise a straw with randomly sampled defects (may have none).  The returned view's
    ``spec`` and ``camera_angle`` reproduce it with :func:`render_view`."""
    seed = int(seed)
    size = _check_size(size)
    rng = np.random.default_rng(_seed_words(seed, _S_GENERATE))
    theta = float(rng.uniform(0.0, _TWO_PI))
    if negative:
        spec = sample_straw(seed, dict.fromkeys(DEFECT_TYPES, 0.0), max_defects=0)
        return render_view(spec, theta, size)
    if defect_type is None:
        return render_view(sample_straw(seed), theta, size)
    if defect_type not in DEFECT_TYPES:
        raise ValueError(f"unknown defect type {defect_type!r}; expected one of {DEFECT_TYPES}")
    clean = sample_straw(seed, dict.fromkeys(DEFECT_TYPES, 0.0), max_defects=0)
    for attempt in range(16):
        facing = theta + float(rng.uniform(-0.45, 0.45)) * (0.5 if attempt > 4 else 1.0)
        defect = sample_defect(defect_type, int(rng.integers(0, 2**31 - 1)), angle=facing)
        view = render_view(replace(clean, defects=(defect,)), theta, size)
        if view.masks[defect_type].any():
            return view
    raise RuntimeError(f"could not place a visible {defect_type!r} at size {size}")
