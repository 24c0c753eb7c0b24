"""An MQTT client for tests, subscribed on the machine's Mosquitto broker."""

import json
import queue

import paho.mqtt.client as mqtt
import pytest

BROKER = ("127.0.0.1", 1883)


def subscribe(topic: str) -> tuple[mqtt.Client, queue.Queue]:
    received: queue.Queue = queue.Queue()
    subscribed: queue.Queue = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, msg: received.put(json.loads(msg.payload))
    client.on_subscribe = lambda *a: subscribed.put(True)
    try:
        client.connect(*BROKER, keepalive=10)
    except OSError as exc:
        pytest.fail(f"Mosquitto is not answering on {BROKER}: {exc}")
    client.subscribe(topic, qos=1)
    client.loop_start()
    subscribed.get(timeout=10)
    return client, received
