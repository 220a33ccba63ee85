"""A Standard Webhooks receiver for Tessera's webhook tests.

Every POST is verified with the reference library (PyPI `standardwebhooks`)
and kept: GET /received returns them all as JSON, each
  {"path", "headers", "body", "verified", "error", "payload", "answered"}.
It answers 204 to a verified request and 401 to anything else, unless told
otherwise with PUT /answer {"status": 500} (or {"status": 307, "location":
"..."}): then every POST gets that answer, verified or not.

It binds 127.0.0.1 on --port (0 picks one) and prints "LISTENING <port>".

usage: python3 webhook_receiver.py --secret whsec_... [--port 0]
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from standardwebhooks import Webhook, WebhookVerificationError
except ImportError:
    sys.stderr.write("the Python package standardwebhooks is missing: pip install standardwebhooks==1.1.0\n")
    sys.exit(3)

RECEIVED = []
ANSWER = {"status": None, "location": None}
LOCK = threading.Lock()


def make_handler(wh):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body=b"", content_type=None, location=None):
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = {"path": self.path, "headers": headers, "body": body.decode("utf-8", "replace"),
                      "verified": False, "error": None, "payload": None}
            try:
                record["payload"] = wh.verify(body, headers)
                record["verified"] = True
            except WebhookVerificationError as e:
                record["error"] = str(e)
            except Exception as e:  # a body that is not JSON or not UTF-8
                record["error"] = f"{type(e).__name__}: {e}"
            with LOCK:
                status = ANSWER["status"] or (204 if record["verified"] else 401)
                location = ANSWER["location"]
                record["answered"] = status
                RECEIVED.append(record)
            self.reply(status, location=location)

        def do_GET(self):
            if self.path != "/received":
                self.reply(404)
                return
            with LOCK:
                data = json.dumps(RECEIVED).encode()
            self.reply(200, data, "application/json")

        def do_PUT(self):
            if self.path != "/answer":
                self.reply(404)
                return
            length = int(self.headers.get("Content-Length", "0"))
            wanted = json.loads(self.rfile.read(length) or b"{}")
            with LOCK:
                ANSWER["status"] = wanted.get("status")
                ANSWER["location"] = wanted.get("location")
            self.reply(204)

        def log_message(self, fmt, *args):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--secret", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(Webhook(a.secret)))
    server.daemon_threads = True
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
