"""Verdicts published on MQTT, received by a real client on the machine's Mosquitto broker."""

import json
import queue
import uuid

import paho.mqtt.client as mqtt
import pytest

from inspection import mqtt as verdict_mqtt
from inspection.models import Station
from inspection.services import inspect_uploads
from tests.conftest import make_image, png_bytes

BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def subscriber(settings):
    settings.MQTT_URL = f"mqtt://{BROKER[0]}:{BROKER[1]}"
    settings.MQTT_TOPIC_PREFIX = f"test-{uuid.uuid4().hex[:10]}"
    received: queue.Queue = queue.Queue()
    subscribed = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, msg: received.put((msg.topic, msg.payload))
    client.on_subscribe = lambda *a: subscribed.put(True)
    try:
        client.connect(*BROKER, keepalive=10)
    except OSError as exc:
        pytest.fail(f"Mosquitto is not answering on {BROKER}: {exc}")
    client.subscribe(f"{settings.MQTT_TOPIC_PREFIX}/stations/+/verdicts", qos=1)
    client.loop_start()
    subscribed.get(timeout=10)
    yield received
    client.loop_stop()
    client.disconnect()
    verdict_mqtt.close()


@pytest.mark.django_db(transaction=True)
def test_every_stored_verdict_of_a_station_is_published(trained_model, owner, subscriber):
    station = Station.objects.create(name="Gate")
    station.projects.set([trained_model.project])
    record = inspect_uploads(
        owner,
        [trained_model.project],
        station,
        [("cam1", png_bytes(make_image(3)))],
        serial="S-17",
    )
    topic, payload = subscriber.get(timeout=15)
    assert topic == verdict_mqtt.topic(station.pk)
    body = json.loads(payload)
    assert (body["id"], body["serial"], body["verdict"]) == (record.pk, "S-17", record.verdict)
