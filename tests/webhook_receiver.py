"""A webhook endpoint for tests: a local HTTP server on a free port that records what it is
sent."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.processes import free_port


class Receiver:
    """A local HTTP endpoint that records requests and fails the first `fail` of them."""

    def __init__(self, fail: int = 0):
        self.requests: list[tuple[dict, bytes]] = []
        self.fail = fail
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.requests.append((dict(self.headers), body))
                code = 500 if len(owner.requests) <= owner.fail else 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
