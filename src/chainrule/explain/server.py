"""``chainrule explain --serve``: the page, plus recomputation with chainrule's own layers.

A static page cannot run Python, and a second implementation of the layers in JavaScript
could drift from the real one. So the served page sends the values a reader types to this
small server, which sets them on the real graph (:func:`~chainrule.explain.inputs.apply_inputs`),
runs forward and backward, and answers with the new document. It listens on 127.0.0.1 only and
answers only requests addressed to it by that name (a page elsewhere cannot drive it through
DNS rebinding). A POST must come from the page itself: a browser names the page's origin in
``Origin``, and ``application/json`` is a type another site cannot send without asking first
(a CORS preflight this server never grants). Each connection has its own thread and a time
limit, so an idle connection (a browser's speculative preconnect) holds up no one; a malformed
request gets a short 400/413 answer, never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import ChainruleError

MAX_REQUEST_BYTES = 64 * 1024
CONNECTION_TIMEOUT_SECONDS = 10.0  # a request that has not arrived by then is dropped
_DIGITS = re.compile(r"[0-9]{1,12}")


class ExplainServer(ThreadingHTTPServer):
    """Serves one :class:`~chainrule.explain.Explanation`; ``url`` is where to point a browser."""

    daemon_threads = True  # a connection still open does not keep the program alive
    request_queue_size = 128  # a page's burst of requests waits in the backlog, not in SYN retries

    def __init__(self, explanation: Any, port: int = 0) -> None:
        self.explanation = explanation
        self.lock = threading.Lock()  # one recomputation at a time: the graph's layers hold state
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line on stderr instead of socketserver's traceback (the client got its answer)."""
        error = sys.exc_info()[1]
        print(f"chainrule explain: a request from {client_address[0]} failed: {type(error).__name__}: {error}",
              file=sys.stderr)

    def start_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (for notebooks and tests); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="chainrule-explain", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ExplainServer
    server_version = "chainrule-explain"
    timeout = CONNECTION_TIMEOUT_SECONDS  # StreamRequestHandler sets it on the socket

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the terminal shows the URL and errors, not every request

    def _allowed_host(self) -> bool:
        port = self.server.port
        return self.headers.get("Host", "") in {f"127.0.0.1:{port}", f"localhost:{port}"}

    def _same_origin(self) -> bool:
        """No ``Origin`` (a script, curl) or this server's own; a browser always sends it on a
        cross-site POST, and ``Sec-Fetch-Site`` says so where the browser sends that too."""
        origin = self.headers.get("Origin")
        port = self.server.port
        if origin is not None and origin not in {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}:
            return False
        return self.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")

    def _content_length(self) -> int | None:
        """The body's declared length, or None after answering why it cannot be read."""
        declared = self.headers.get("Content-Length", "").strip()
        if not _DIGITS.fullmatch(declared):
            self._refuse(HTTPStatus.BAD_REQUEST, "Content-Length must be the body's size in bytes")
            return None
        length = int(declared)
        if length > MAX_REQUEST_BYTES:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a request body is at most {MAX_REQUEST_BYTES} bytes")
            return None
        return length

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` and close: the body, if any, was not read and must not be parsed as a request."""
        self.close_connection = True
        self._json(status, {"error": message})

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if not self._allowed_host():
            return self._json(HTTPStatus.FORBIDDEN, {"error": "unexpected Host header"})
        if self.path.split("?")[0] not in ("/", "/index.html"):
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {self.path}"})
        with self.server.lock:
            page = self.server.explanation.html(served=True)
        self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        if not self._allowed_host():
            return self._refuse(HTTPStatus.FORBIDDEN, "unexpected Host header")
        if self.path != "/api/explain":
            return self._refuse(HTTPStatus.NOT_FOUND, f"no endpoint {self.path[:100]}")
        if not self._same_origin():
            return self._refuse(HTTPStatus.FORBIDDEN, "only the explainer's own page may send values")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json")
        length = self._content_length()
        if length is None:
            return None
        try:
            request = json.loads(self.rfile.read(length))
            inputs = request["inputs"]
            if not isinstance(inputs, dict) or not all(isinstance(v, (str, int, float)) for v in inputs.values()):
                raise ValueError
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: [[[[... 60,000 deep
            return self._refuse(HTTPStatus.BAD_REQUEST, 'expected {"inputs": {"name": "value", ...}}')
        with self.server.lock:
            try:
                document = self.server.explanation.recompute({k: str(v) for k, v in inputs.items()})
            except ChainruleError as error:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
        self._json(HTTPStatus.OK, document)
