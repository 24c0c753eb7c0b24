"""Camera placement around a cylinder, against hand-computed cases."""

import math

import pytest

from inspection.placement import PlacementError, Setup, analyse, half_arc_deg


def test_the_incidence_limit_sets_the_arc_of_a_wide_lens():
    # r = 1, d = 2, 60 degrees: the edge ray leaves at asin(sin 60 / 2) = 25.66 degrees and
    # meets the surface 60 - 25.66 = 34.34 degrees from the camera's azimuth.
    assert half_arc_deg(1, 2, 170, 60) == pytest.approx(
        60 - math.degrees(math.asin(math.sin(math.radians(60)) / 2))
    )
    assert half_arc_deg(1, 2, 170, 60) == pytest.approx(34.34, abs=0.01)
    # Far away, a camera sees +-max incidence of the circumference.
    assert half_arc_deg(1, 1e6, 10, 60) == pytest.approx(60, abs=0.01)


def test_a_narrow_lens_cuts_the_arc_before_the_incidence_limit():
    # d sin(2 deg) / r = 0.349: the edge ray meets the surface at asin(0.349) - 2 = 18.43.
    assert half_arc_deg(1, 10, 4, 60) == pytest.approx(18.43, abs=0.01)


def _setup(cameras, **kw):
    return Setup(
        **{
            "radius": 1,
            "length": 10,
            "cameras": cameras,
            "distance": 2,
            "fov_deg": 170,
            "vfov_deg": 90,
            **kw,
        }
    )


def test_six_cameras_close_the_circle_and_four_leave_four_blind_spots():
    full = analyse(_setup(6))
    assert full["coverage"] == pytest.approx(1.0) and full["blind_spots"] == []
    assert full["overlap_deg"] == pytest.approx(2 * 34.34 - 60, abs=0.02)
    partial = analyse(_setup(4))
    assert partial["coverage"] == pytest.approx(4 * 2 * 34.34 / 360, abs=1e-3)
    widths = [g["width_deg"] for g in partial["blind_spots"]]
    assert len(widths) == 4 and all(w == pytest.approx(90 - 68.68, abs=0.02) for w in widths)
    assert partial["blind_spots"][0]["from_deg"] == pytest.approx(34.34, abs=0.01)
    assert "at least 6 cameras" in partial["suggestion"]


def test_length_coverage_and_the_advice_to_step_along_the_axis():
    # Each view spans 2 (d - r) tan(45) = 2 of a part 10 long.
    result = analyse(_setup(6))
    assert result["length_coverage"] == pytest.approx(0.2)
    assert "in 5 steps" in result["suggestion"]


def test_impossible_setups_are_refused_with_the_reason():
    with pytest.raises(PlacementError, match="outside the part"):
        analyse(_setup(3, distance=0.5))
    with pytest.raises(PlacementError, match="cameras"):
        analyse(_setup(0))


@pytest.mark.django_db
def test_the_api_answers_and_names_bad_parameters(client_for, annotator):
    client = client_for(annotator)
    query = "radius=1&length=10&cameras=6&distance=2&fov_deg=170&vfov_deg=90"
    body = client.get(f"/api/placement/?{query}").json()
    assert body["coverage"] == pytest.approx(1.0) and len(body["cameras"]) == 6
    bad = client.get(
        "/api/placement/?radius=1&length=10&cameras=6&distance=0.5&fov_deg=170&vfov_deg=90"
    )
    assert bad.status_code == 400 and "outside the part" in bad.json()["detail"]
    missing = client.get("/api/placement/?radius=1")
    assert missing.status_code == 400 and "cameras" in missing.json()["errors"]
