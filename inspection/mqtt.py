"""Verdicts on MQTT: every judged object is published on `<prefix>/stations/<id>/verdicts`
(QoS 1), where PLC gateways and reject gates listen. Off unless MQTT_URL is set.

One client per process, connected in the background with paho's own reconnect; a broker that
is down costs a logged warning, never a verdict (records are stored before publishing).
"""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import urlparse

from django.conf import settings

log = logging.getLogger(__name__)
_client = None
_lock = threading.Lock()


def topic(station_id: int) -> str:
    return f"{settings.MQTT_TOPIC_PREFIX}/stations/{station_id}/verdicts"


def _connect():
    import paho.mqtt.client as mqtt

    url = urlparse(settings.MQTT_URL)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if url.username:
        client.username_pw_set(url.username, url.password)
    if url.scheme == "mqtts":
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    port = url.port or (8883 if url.scheme == "mqtts" else 1883)
    client.connect_async(url.hostname, port, keepalive=30)
    client.loop_start()
    return client


def publish_verdict(verdict: dict) -> None:
    global _client
    if not settings.MQTT_URL or verdict.get("station") is None:
        return
    with _lock:
        if _client is None:
            _client = _connect()
    info = _client.publish(topic(verdict["station"]), json.dumps(verdict), qos=1)
    if info.rc != 0:
        log.warning("MQTT: verdict %s not queued (rc %s)", verdict.get("id"), info.rc)


def close() -> None:
    global _client
    with _lock:
        if _client is not None:
            _client.loop_stop()
            _client.disconnect()
            _client = None
