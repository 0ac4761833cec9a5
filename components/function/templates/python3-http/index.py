"""The python3-http template's upstream server.

of-watchdog (http mode) proxies every request to this server on its upstream_url (127.0.0.1:5000 in the
image; the server reads the same variable, so the two cannot disagree); each request calls
`function.handler.handle(event, context)`, the interface of the OpenFaaS python3-http template:

- `event`: `body` (bytes), `headers` (case-insensitive), `method`, `query` (first value per key), `path`;
- `context`: `hostname`;
- the result: a dict with `statusCode` (default 200), `body` (a dict is sent as JSON, bytes as is,
  anything else as text) and `headers`; or a string (200); or None (200, empty).

Only the standard library is used, so the template itself adds no dependency to the function's image.
"""

import json
import os
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
PORT = 5000
METHODS = ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE")


class Event:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def format_response(result):
    """(status, headers, body bytes) of a handler's result."""
    if result is None:
        return 200, {}, b""
    if not isinstance(result, dict):
        if isinstance(result, bytes):
            return 200, {"Content-Type": "application/octet-stream"}, result
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, str(result).encode()
    status = int(result.get("statusCode", 200))
    headers = dict(result.get("headers") or {})
    body = result.get("body", "")
    if isinstance(body, dict | list):
        headers.setdefault("Content-Type", "application/json")
        data = json.dumps(body).encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = str(body).encode()
    headers.setdefault("Content-Type", "text/plain; charset=utf-8")
    return status, headers, data


def make_handler(handle):
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self):
            """The request body, sent with a Content-Length or chunked (the watchdog forwards both)."""
            if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)

        def _serve(self):
            body = self._body()
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
            event = Event(self.command, url.path or "/", query, self.headers, body)
            try:
                status, headers, data = format_response(handle(event, Context()))
            except Exception:
                traceback.print_exc(file=sys.stderr)
                status, headers, data = 500, {"Content-Type": "text/plain; charset=utf-8"}, b"internal error\n"
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, format, *args):  # noqa: A002 - the base class's signature
            sys.stderr.write("%s %s\n" % (self.command, format % args))

    for method in METHODS:
        setattr(RequestHandler, f"do_{method}", RequestHandler._serve)
    return RequestHandler


def make_server(handle, host=HOST, port=PORT):
    return ThreadingHTTPServer((host, port), make_handler(handle))


if __name__ == "__main__":
    from function import handler

    upstream = urlsplit(os.getenv("upstream_url", ""))
    server = make_server(handler.handle, host=upstream.hostname or HOST, port=upstream.port or PORT)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
