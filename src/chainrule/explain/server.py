"""``chainrule explain --serve``: the page, plus recomputation with chainrule's own layers.

A static page cannot run Python, and a second implementation of the layers in JavaScript
could drift from the real one. So the served page sends the values a reader types to this
small server, which sets them on the real graph (:func:`~chainrule.explain.inputs.apply_inputs`),
runs forward and backward, and answers with the new document. It listens on 127.0.0.1 only and
answers only requests addressed to it by that name (a page elsewhere cannot drive it through
DNS rebinding).
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from ..errors import ChainruleError

MAX_REQUEST_BYTES = 64 * 1024


class ExplainServer(HTTPServer):
    """Serves one :class:`~chainrule.explain.Explanation`; ``url`` is where to point a browser."""

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

    def start_in_thread(self) -> threading.Thread:
        """Serve in a daemon thread (for notebooks and tests); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="chainrule-explain", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ExplainServer
    server_version = "chainrule-explain"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # the terminal shows the URL and errors, not every request

    def _allowed_host(self) -> bool:
        port = self.server.port
        return self.headers.get("Host", "") in {f"127.0.0.1:{port}", f"localhost:{port}"}

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
            return self._json(HTTPStatus.FORBIDDEN, {"error": "unexpected Host header"})
        if self.path != "/api/explain":
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {self.path}"})
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_REQUEST_BYTES:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": f"expected a JSON body of at most {MAX_REQUEST_BYTES} bytes"})
        try:
            request = json.loads(self.rfile.read(length))
            inputs = request["inputs"]
            if not isinstance(inputs, dict) or not all(isinstance(v, (str, int, float)) for v in inputs.values()):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return self._json(HTTPStatus.BAD_REQUEST, {"error": 'expected {"inputs": {"name": "value", ...}}'})
        with self.server.lock:
            try:
                document = self.server.explanation.recompute({k: str(v) for k, v in inputs.items()})
            except ChainruleError as error:
                return self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
        self._json(HTTPStatus.OK, document)
