"""A local HTTP MJPEG camera for tests: multipart JPEG frames at about 20 fps, each a flat
grey level that rises by 10 per frame, until the server is stopped."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


def frame(level: int, size=(48, 64)) -> np.ndarray:
    image = np.full((*size, 3), level, np.uint8)
    image[:, :8] = 255 - level  # a stripe, so frames are not flat
    return image


class _Mjpeg(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - the handler API
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        level = 0
        try:
            while not self.server.stopping:
                jpeg = cv2.imencode(".jpg", frame(level % 250))[1].tobytes()
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                level += 10
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass


def serve(port: int) -> ThreadingHTTPServer:
    """An MJPEG server on 127.0.0.1:`port` (the same port again after `stop`)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Mjpeg)
    server.stopping = False
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: ThreadingHTTPServer) -> None:
    """Ends every stream it serves and closes its socket, as a camera losing power does."""
    server.stopping = True
    server.shutdown()
    server.server_close()
