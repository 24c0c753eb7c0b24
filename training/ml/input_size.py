"""An input size for a project's network, suggested from its images' sizes.

The network sees every image at one size (a multiple of 32: the U-Net halves it five times).
Keeping the images' typical aspect ratio avoids stretching defects; keeping the short side
near the images' own (at most SHORT_SIDE) avoids both upsampling small tiles, which blows up
tiny defects, and spending compute on more pixels than the defects need. Long parts such as
straws keep their length: 256x1248 for a straw photographed at about 1:5.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SHORT_SIDE = 256  # enough for the defects of the research data; cost grows with pixels
MAX_SIDE = 2048
MULTIPLE = 32


def _round(value: float) -> int:
    return max(MULTIPLE, int(round(value / MULTIPLE)) * MULTIPLE)


def suggest_input_size(sizes: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """[height, width] for images of these (height, width) sizes; None without images.

    Medians, so a few odd images do not move it; the orientation is the usual one.
    """
    sizes = [(h, w) for h, w in sizes if h > 0 and w > 0]
    if not sizes:
        return None
    ratios = sorted(math.log(w / h) for h, w in sizes)  # log: 1:2 and 2:1 are symmetric
    ratio = math.exp(ratios[len(ratios) // 2])
    shorts = sorted(min(h, w) for h, w in sizes)
    short = min(SHORT_SIDE, shorts[len(shorts) // 2])
    if ratio >= 1:
        height, width = short, short * ratio
    else:
        height, width = short / ratio, short
    scale = min(1.0, MAX_SIDE / max(height, width))
    return _round(height * scale), _round(width * scale)
