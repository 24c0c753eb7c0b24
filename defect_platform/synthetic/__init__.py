"""Synthetic data for the inspection platform (numpy + OpenCV only, no Django / torch)."""

from defect_platform.synthetic.straws import (
    DEFECT_TYPES,
    DefectSpec,
    StrawSpec,
    StrawView,
    generate,
    render_view,
    render_views,
    sample_defect,
    sample_straw,
)

__all__ = [
    "DEFECT_TYPES",
    "DefectSpec",
    "StrawSpec",
    "StrawView",
    "generate",
    "render_view",
    "render_views",
    "sample_defect",
    "sample_straw",
]
