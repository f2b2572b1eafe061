"""The explainer's server (``chainrule explain --serve``) under hostile or clumsy clients.

Every test runs a real server on 127.0.0.1 and talks to it over sockets with time limits: an
idle connection must not freeze it, another site's page must not change its values, and a
malformed request gets a short answer (never silence, never a traceback on the server's stderr).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from chainrule.explain import Explanation, ExplainServer
from chainrule.explain import server as server_module
from chainrule.graph import EXAMPLES


@pytest.fixture
def served() -> Iterator[ExplainServer]:
    server = Explanation(EXAMPLES["apple"]()).serve(0)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def raw_request(server: ExplainServer, head: str, body: bytes = b"", timeout: float = 10) -> tuple[int, dict]:
    """Send ``head`` (request line and headers, no blank line) and ``body``; return status and JSON."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body)
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    header, _, payload = response.partition(b"\r\n\r\n")
    assert header, "the server closed the connection without answering"
    return int(header.split()[1]), json.loads(payload)


def post_head(server: ExplainServer, length: object, **headers: str) -> str:
    lines = [
        "POST /api/explain HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Content-Type: {headers.pop('content_type', 'application/json')}",
        f"Content-Length: {length}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return "\n".join(lines)


def page(server: ExplainServer) -> str:
    with urllib.request.urlopen(server.url, timeout=10) as response:
        return response.read().decode("utf-8")


# -- an idle connection holds up no one -------------------------------------------------------------


def test_an_idle_connection_does_not_freeze_the_server(served: ExplainServer) -> None:
    """A browser's speculative preconnect opens a socket and sends nothing."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10):
        started = time.monotonic()
        assert '"served":true' in page(served)
        assert time.monotonic() - started < 5


def test_an_idle_connection_is_dropped_after_the_time_limit(served: ExplainServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module._Handler, "timeout", 0.5)
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as idle:
        started = time.monotonic()
        assert idle.recv(1) == b""  # closed by the server, not by our own timeout
        assert time.monotonic() - started < 5


def test_two_hundred_concurrent_requests_are_all_answered(served: ExplainServer) -> None:
    statuses: list[int] = []

    def fetch() -> None:
        try:
            with urllib.request.urlopen(served.url + "favicon.ico", timeout=30):
                pass
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
        except OSError as error:
            statuses.append(repr(error))

    with socket.create_connection(("127.0.0.1", served.port), timeout=10):  # one idle client throughout
        threads = [threading.Thread(target=fetch) for _ in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert statuses == [404] * 200


# -- only the page itself may change the values -------------------------------------------------------


def test_a_cross_origin_post_is_refused_and_changes_nothing(served: ExplainServer) -> None:
    body = json.dumps({"inputs": {"apple": "987"}}).encode()
    status, answer = raw_request(served, post_head(served, len(body), content_type="text/plain",
                                                   Origin="http://evil.example"), body)
    assert status == 403 and "own page" in answer["error"]
    status, _ = raw_request(served, post_head(served, len(body), Origin="http://evil.example"), body)
    assert status == 403
    status, _ = raw_request(served, post_head(served, len(body), Sec_Fetch_Site="cross-site"), body)
    assert status == 403
    status, answer = raw_request(served, post_head(served, len(body), content_type="text/plain"), body)
    assert status == 415 and "application/json" in answer["error"]
    assert "987" not in page(served)
    status, answer = raw_request(served, post_head(served, len(body), Origin=f"http://127.0.0.1:{served.port}"), body)
    assert status == 200 and answer["inputs"][0]["value"] in ("987", "987.0")


# -- malformed requests get a short answer, not a traceback ------------------------------------------


@pytest.mark.parametrize(
    ("length", "status"),
    [("abc", 400), ("2.0", 400), ("9" * 5000, 400), ("-1", 400), ("", 400), (str(10**6), 413)],
    ids=["letters", "float", "5000-digits", "negative", "empty", "too-large"],
)
def test_a_bad_content_length_gets_a_short_answer(served: ExplainServer, capsys: pytest.CaptureFixture[str],
                                                  length: str, status: int) -> None:
    got, answer = raw_request(served, post_head(served, length), b"{}")
    assert got == status and len(answer["error"]) < 100
    assert "Traceback" not in capsys.readouterr().err


def test_json_nested_sixty_thousand_deep_gets_400(served: ExplainServer, capsys: pytest.CaptureFixture[str]) -> None:
    body = b"[" * 60_000
    status, answer = raw_request(served, post_head(served, len(body)), body)
    assert status == 400 and "inputs" in answer["error"]
    assert "Traceback" not in capsys.readouterr().err
