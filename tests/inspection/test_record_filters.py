"""The records API's filters, one by one and together, within what the user may see."""

from datetime import UTC, datetime

import pytest

from inspection.models import InspectionRecord, RecordMask, Station


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, 2, hour, minute, tzinfo=UTC)


@pytest.fixture
def records(project, other_project, make_user):
    """Line A checks Crack, line B checks Spot. Per record: (station, hour, verdict, serial,
    lot, defect types found with the number of views they were found in)."""
    line_a = Station.objects.create(name="Line A")
    line_a.projects.set([project])
    line_b = Station.objects.create(name="Line B")
    line_b.projects.set([other_project])
    plan = {
        "a1": (line_a, 6, "ok", "S-1", "L1", {}),
        "a2": (line_a, 8, "ng", "S-2", "L1", {project: 2}),
        "a3": (line_a, 10, "ng", "S-3", "L2", {project: 1}),
        "a4": (line_a, 12, "not_inspectable", "S-4", "L2", {}),
        "b1": (line_b, 9, "ng", "S-1", "L1", {other_project: 1}),
    }
    made = {}
    for key, (station, hour, verdict, serial, lot, found) in plan.items():
        record = InspectionRecord.objects.create(
            station=station, captured_at=at(hour), verdict=verdict, serial=serial, lot=lot
        )
        record.projects.set(station.projects.all())
        for defect_type, views in found.items():
            for view in range(views):
                RecordMask.objects.create(
                    record=record, project=defect_type, camera=f"cam{view}", file="m.png"
                )
        made[key] = record
    return {
        "made": made,
        "line_a": line_a,
        "line_b": line_b,
        "inspector": make_user("insp", "inspector", project),
        "staff": make_user("boss", staff=True),
    }


def _ids(records, client, query: str = "") -> set[str]:
    response = client.get(f"/api/records/{query}")
    assert response.status_code == 200, response.json()
    names = {r.pk: k for k, r in records["made"].items()}
    return {names[row["id"]] for row in response.json()["results"]}


def _error(client, query: str) -> dict:
    response = client.get(f"/api/records/{query}")
    assert response.status_code == 400
    return response.json()


def test_an_inspector_sees_only_the_records_of_their_stations(records, client_for):
    assert _ids(records, client_for(records["inspector"])) == {"a1", "a2", "a3", "a4"}
    assert _ids(records, client_for(records["staff"])) == {"a1", "a2", "a3", "a4", "b1"}


def test_filter_by_station(records, client_for):
    staff = client_for(records["staff"])
    assert _ids(records, staff, f"?station={records['line_b'].pk}") == {"b1"}
    inspector = client_for(records["inspector"])
    assert _ids(records, inspector, f"?station={records['line_a'].pk}") == {"a1", "a2", "a3", "a4"}
    # Another project's station is refused like one that does not exist.
    hidden = _error(inspector, f"?station={records['line_b'].pk}")
    missing = _error(inspector, "?station=999999")
    assert set(hidden["errors"]) == set(missing["errors"]) == {"station"}


def test_filter_by_verdict(records, client_for):
    staff = client_for(records["staff"])
    assert _ids(records, staff, "?verdict=ng") == {"a2", "a3", "b1"}
    assert _ids(records, staff, "?verdict=ok") == {"a1"}
    assert _ids(records, staff, "?verdict=not_inspectable") == {"a4"}
    assert "verdict" in _error(staff, "?verdict=maybe")["errors"]


def test_filter_by_defect_type_found(records, project, other_project, client_for):
    staff = client_for(records["staff"])
    # a2 has the defect in two views and is listed once; a1 and a4 were checked for Crack
    # but nothing was found.
    response = staff.get(f"/api/records/?defect_type={project.pk}")
    assert response.json()["count"] == 2
    assert _ids(records, staff, f"?defect_type={project.pk}") == {"a2", "a3"}
    assert _ids(records, staff, f"?defect_type={other_project.pk}") == {"b1"}
    # The inspector is no member of Spot: its defects are not theirs to search.
    inspector = client_for(records["inspector"])
    assert "defect_type" in _error(inspector, f"?defect_type={other_project.pk}")["errors"]


def test_filter_by_serial_and_lot(records, client_for):
    staff = client_for(records["staff"])
    assert _ids(records, staff, "?serial=S-1") == {"a1", "b1"}
    assert _ids(records, staff, "?serial=S-") == set()  # exact, not a prefix
    assert _ids(records, staff, "?lot=L2") == {"a3", "a4"}


def test_filter_by_capture_time(records, client_for):
    staff = client_for(records["staff"])
    # since is inclusive, until exclusive.
    assert _ids(records, staff, "?since=2024-05-02T08:00:00Z") == {"a2", "b1", "a3", "a4"}
    assert _ids(records, staff, "?until=2024-05-02T08:00:00Z") == {"a1"}
    window = "?since=2024-05-02T08:00:00Z&until=2024-05-02T10:00:00Z"
    assert _ids(records, staff, window) == {"a2", "b1"}
    # Offsets are honoured: 11:30+02:00 is 09:30 UTC.
    assert _ids(records, staff, "?until=2024-05-02T11:30:00%2B02:00") == {"a1", "a2", "b1"}


def test_bad_capture_times_name_the_problem(records, client_for):
    staff = client_for(records["staff"])
    assert "since" in _error(staff, "?since=yesterday")["errors"]
    empty = _error(staff, "?since=2024-05-02T10:00:00Z&until=2024-05-02T10:00:00Z")
    assert "range is empty" in empty["errors"]["until"][0]


def test_filters_combine(records, project, client_for):
    inspector = client_for(records["inspector"])
    query = f"?verdict=ng&defect_type={project.pk}&lot=L1&since=2024-05-02T07:00:00Z"
    assert _ids(records, inspector, query) == {"a2"}
    query = f"?station={records['line_a'].pk}&serial=S-1&verdict=ng"
    assert _ids(records, inspector, query) == set()
