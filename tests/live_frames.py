"""Reading live-station frames in tests: binary frames, skipping the text status messages
({"type": "station", "status": ...}) that come between them."""

from __future__ import annotations

import time

from inspection.live import unpack_frame


def recv_frame(ws, timeout: float):
    """The next (header, jpeg) from a websockets sync client."""
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(message, bytes):
            return unpack_frame(message)


async def receive_frame(communicator, timeout: float):
    """The next (header, jpeg) from a channels WebsocketCommunicator, or the raw message when
    it is not a send (a close, for the caller to assert on)."""
    while True:
        message = await communicator.receive_output(timeout=timeout)
        if message["type"] != "websocket.send":
            return message
        if message.get("bytes") is not None:
            return unpack_frame(message["bytes"])
