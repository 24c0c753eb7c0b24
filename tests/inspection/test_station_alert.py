"""Engineers and owners set the live page's NG-rate alert (N objects, k times the day's rate)
through the API; the live judge sends what is set."""

import pytest

from defect_platform.core.roles import Role
from inspection.live_judging import LiveJudge
from inspection.models import Station


@pytest.fixture
def station(project):
    station = Station.objects.create(name="Alerting")
    station.projects.set([project])
    return station


def _patch(client, station, body):
    return client.patch(f"/api/stations/{station.pk}/", body, format="json")


def test_an_engineer_sets_n_and_k_and_the_station_reports_them(
    client_for, make_user, project, station
):
    engineer = make_user("eng", Role.ENGINEER, project)
    answer = _patch(client_for(engineer), station, {"ng_alert_window": 5, "ng_alert_factor": 1.5})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["ng_alert_window"] == 5 and answer.json()["ng_alert_factor"] == 1.5
    station.refresh_from_db()
    assert (station.ng_alert_window, station.ng_alert_factor) == (5, 1.5)
    # One of the two alone leaves the other as it was.
    _patch(client_for(engineer), station, {"ng_alert_factor": 100})
    station.refresh_from_db()
    assert (station.ng_alert_window, station.ng_alert_factor) == (5, 100.0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ng_alert_window": 4}, "ng_alert_window"),
        ({"ng_alert_window": 10001}, "ng_alert_window"),
        ({"ng_alert_window": "many"}, "ng_alert_window"),
        ({"ng_alert_factor": 1}, "ng_alert_factor"),
        ({"ng_alert_factor": 0.5}, "ng_alert_factor"),
        ({"ng_alert_factor": 100.01}, "ng_alert_factor"),
        ({"ng_alert_factor": "NaN"}, "ng_alert_factor"),
        ({"ng_alert_factor": "Infinity"}, "ng_alert_factor"),
    ],
)
def test_out_of_range_values_are_refused_and_change_nothing(
    client_for, owner, station, body, field
):
    answer = _patch(client_for(owner), station, body)
    assert answer.status_code == 400
    assert field in answer.json()["errors"] or field in str(answer.json())
    station.refresh_from_db()
    assert (station.ng_alert_window, station.ng_alert_factor) == (50, 3.0)


def test_inspectors_and_supervisors_may_not_set_the_alert(client_for, make_user, project, station):
    for role in (Role.INSPECTOR, Role.SUPERVISOR):
        user = make_user(f"u-{role}", role, project)
        assert _patch(client_for(user), station, {"ng_alert_window": 10}).status_code == 403
    station.refresh_from_db()
    assert station.ng_alert_window == 50


def test_read_only_fields_are_not_set_through_the_alert_patch(client_for, owner, station):
    answer = _patch(client_for(owner), station, {"name": "Renamed", "active": False})
    assert answer.status_code == 200
    station.refresh_from_db()
    assert station.name == "Alerting" and station.active is True


@pytest.mark.django_db(transaction=True)  # the judge closes old connections, as in its thread
def test_the_live_judge_sends_the_alert_settings_of_the_moment(
    client_for, owner, station, trained_model
):
    station.projects.set([trained_model.project])
    _patch(client_for(owner), station, {"ng_alert_window": 7, "ng_alert_factor": 2.5})
    from inspection.capture import View
    from tests.conftest import make_image

    views = [View("cam1", 0, make_image(1), None, "online")]
    message = LiveJudge(station.pk).judge(1, views)
    assert message["judging"] == "on", message
    assert message["alert"] == {"window": 7, "factor": 2.5}
