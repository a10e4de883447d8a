"""A real HTTP receiver on 127.0.0.1 (port 0) for webhook tests: verifies every request with the
`standardwebhooks` library and records what arrived; its answer code can be changed, and
`on_arrival(payload)` (when set) runs after recording and before the answer (to hold a sender
mid-request)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Receiver:
    def __init__(self, secret: str | None = None):
        self.secret, self.status, self.received, self.bad = secret, 200, [], []
        self.on_arrival = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers))
                    receiver.received.append((dict(self.headers), payload))
                except Exception as error:  # recorded: a test asserts there were none
                    receiver.bad.append((str(error), body))
                    payload = None
                if receiver.on_arrival is not None and payload is not None:
                    receiver.on_arrival(payload)
                try:
                    self.send_response(receiver.status)
                    self.end_headers()
                    self.wfile.write(b"thanks" if receiver.status < 300 else b"no")
                except OSError:  # the sender is gone (killed mid-request)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def types(self) -> list[str]:
        return [p["type"] for _, p in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def loads(body) -> dict:
    return json.loads(body)
