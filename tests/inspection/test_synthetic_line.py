"""The synthetic line's defect rates, set in its cameras' configuration: checked when the
cameras are saved, and drawn at those rates by the station's capture."""

import pytest

from defect_platform.synthetic.straws import DEFECT_TYPES
from inspection.cameras import CameraError
from inspection.capture import Capture
from inspection.models import Station

SIZE = (32, 160)


def _defect_types(configs, objects: int = 40) -> list[set[str]]:
    """The defect types of each straw the station's capture sees."""
    capture = Capture(configs, seed=11, size=SIZE)
    found = []
    for _ in range(objects):
        capture.take()
        found.append({d.type for d in capture.line.spec().defects})
    return found


def test_a_synthetic_station_draws_defects_at_its_configured_rates():
    none = dict.fromkeys(DEFECT_TYPES, 0.0)
    only_cracks = none | {"crack": 1.0}
    default = _defect_types([{"name": "a"}, {"name": "b"}])
    clean = _defect_types([{"name": "a", "defect_rates": none}, {"name": "b"}])
    cracked = _defect_types(
        [{"name": "a", "defect_rates": only_cracks}, {"name": "b", "defect_rates": only_cracks}]
    )
    assert sum(bool(types) for types in default) >= 10  # the generator's own rates
    assert all(types == set() for types in clean)
    assert all(types == {"crack"} for types in cracked)


@pytest.mark.parametrize(
    "rates, message",
    [
        ({"crack": 1.5}, "a number from 0 to 1"),
        ({"crack": -0.1}, "a number from 0 to 1"),
        ({"crack": "0.2"}, "a number from 0 to 1"),
        ({"crack": True}, "a number from 0 to 1"),
        ({"crack": float("nan")}, "a number from 0 to 1"),
        ({"scratch": 0.1}, "unknown defect types in defect_rates: ['scratch']"),
        ([0.1, 0.2], "maps defect types to rates"),
    ],
)
def test_bad_defect_rates_are_refused_by_name(rates, message):
    with pytest.raises(CameraError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Capture([{"name": "a", "defect_rates": rates}], size=SIZE)


def test_cameras_of_one_line_cannot_disagree_on_its_rates():
    configs = [
        {"name": "a", "defect_rates": {"crack": 0.5}},
        {"name": "b", "defect_rates": {"crack": 0.2}},
    ]
    with pytest.raises(CameraError, match="same defect_rates"):
        Capture(configs, size=SIZE)


@pytest.mark.django_db
def test_saved_cameras_keep_their_checked_rates_and_bad_ones_change_nothing(
    project, owner, client_for
):
    station = Station.objects.create(name="Demo line")
    station.projects.set([project])
    url = f"/api/stations/{station.pk}/cameras/"
    cameras = [
        {"name": "top", "kind": "synthetic", "defect_rates": {"crack": 1, "dent": 0.25}},
        {"name": "side", "kind": "synthetic", "defect_rates": {"crack": 1.0, "dent": 0.25}},
    ]
    saved = client_for(owner).put(url, {"cameras": cameras}, format="json")
    assert saved.status_code == 200, saved.json()
    station.refresh_from_db()
    assert [c["defect_rates"] for c in station.cameras] == [{"crack": 1.0, "dent": 0.25}] * 2

    for bad, message in (
        ([{"name": "top", "defect_rates": {"crack": 2}}], "top: defect_rates['crack']"),
        (
            [
                {"name": "top", "defect_rates": {"crack": 0.1}},
                {"name": "side", "defect_rates": {"crack": 0.9}},
            ],
            "same defect_rates",
        ),
    ):
        answer = client_for(owner).put(url, {"cameras": bad}, format="json")
        assert answer.status_code == 400 and message in answer.json()["detail"], answer.json()
    station.refresh_from_db()
    assert [c["defect_rates"] for c in station.cameras] == [{"crack": 1.0, "dent": 0.25}] * 2
