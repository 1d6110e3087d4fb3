"""Reminder webhooks, delivered over real sockets to a receiver on loopback.

Every request in this file goes to 127.0.0.1 (or ::1). Destinations that must be refused
and are not loopback are only ever passed to check_destination, which sends nothing, so a
broken check cannot turn into traffic to someone else's network.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service.webhooks import (
    Delivery,
    Reminder,
    WebhookRefused,
    check_destination,
    deliver,
    payload,
)

REMINDER = Reminder(
    learner="ada", date=date(2026, 3, 10), due=12, new=5, url="https://tutor.example/review"
)


# --- a webhook receiver on loopback ---------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Script:
    """How the receiver answers: `statuses` in order, then 200; after `delay` seconds."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    location: str = "/elsewhere"  # for 3xx answers


class _Server(ThreadingHTTPServer):
    receiver: Receiver

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (a timeout test) leaves a broken pipe behind; expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status = receiver.record(Received(self.path, headers, body))
        receiver.release.wait(receiver.script.delay)
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", receiver.script.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class Receiver:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.script = Script()
        self.requests: list[Received] = []
        self.release = threading.Event()  # ends a scripted delay early, at teardown
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        # A short poll keeps shutdown, and so each test's teardown, quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def record(self, received: Received) -> int:
        with self._lock:
            self.requests.append(received)
            return self.script.statuses.pop(0) if self.script.statuses else 200

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


class FakeSleep:
    """Stands in for asyncio.sleep: remembers the pauses instead of taking them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- payloads -------------------------------------------------------------------------


def test_json_payload_is_the_reminder() -> None:
    body, headers = payload(REMINDER, "json")
    assert headers == {"Content-Type": "application/json"}
    assert json.loads(body) == {
        "learner": "ada",
        "date": "2026-03-10",
        "due": 12,
        "new": 5,
        "url": "https://tutor.example/review",
    }


def test_slack_payload_is_a_short_message_with_a_link() -> None:
    body, headers = payload(REMINDER, "slack")
    assert headers == {"Content-Type": "application/json"}
    assert json.loads(body) == {
        "text": "Tutor: 12 cards due and 5 new for 2026-03-10"
        " → <https://tutor.example/review|review now>"
    }


def test_slack_link_escapes_what_slack_reads_as_markup() -> None:
    odd = Reminder(learner="ada", date=date(2026, 3, 10), due=1, new=0, url="https://t/r?a=1&b=<|>")
    text = json.loads(payload(odd, "slack")[0])["text"]
    assert text.endswith(" → <https://t/r?a=1&amp;b=&lt;%7C&gt;|review now>")
    assert text.startswith("Tutor: 1 card due and 0 new")


def test_ntfy_payload_is_plain_text_with_ntfy_headers() -> None:
    body, headers = payload(REMINDER, "ntfy")
    assert body.decode() == "12 cards due and 5 new for 2026-03-10."
    assert headers["Title"] == "Tutor reminder"
    assert headers["Click"] == "https://tutor.example/review"
    assert headers["Tags"] == "books"
    assert headers["Content-Type"].startswith("text/plain")


def test_ntfy_click_header_stays_ascii() -> None:
    odd = Reminder(learner="ada", date=date(2026, 3, 10), due=2, new=0, url="https://t/révision")
    assert payload(odd, "ntfy")[1]["Click"] == "https://t/r%C3%A9vision"


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown webhook format"):
        payload(REMINDER, "xml")  # type: ignore[arg-type]


# --- delivery -------------------------------------------------------------------------


async def test_json_delivery_arrives_as_sent(receiver: Receiver, sleep: FakeSleep) -> None:
    result = await deliver(
        REMINDER, url=receiver.url("/hook?x=1"), fmt="json", allow_private=True, sleep=sleep
    )

    assert result == Delivery(ok=True, attempts=1, status=200, error=None)
    [received] = receiver.requests
    assert received.path == "/hook?x=1"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"].startswith("Tutor/")
    assert json.loads(received.body)["due"] == 12
    assert sleep.delays == []


async def test_slack_delivery_arrives_as_sent(receiver: Receiver) -> None:
    result = await deliver(REMINDER, url=receiver.url(), fmt="slack", allow_private=True)

    assert result.ok
    [received] = receiver.requests
    assert received.headers["content-type"] == "application/json"
    assert json.loads(received.body)["text"].endswith("<https://tutor.example/review|review now>")


async def test_ntfy_delivery_arrives_as_sent(receiver: Receiver) -> None:
    result = await deliver(REMINDER, url=receiver.url("/tutor"), fmt="ntfy", allow_private=True)

    assert result.ok
    [received] = receiver.requests
    assert received.path == "/tutor"
    assert received.body == b"12 cards due and 5 new for 2026-03-10."
    assert received.headers["title"] == "Tutor reminder"
    assert received.headers["click"] == "https://tutor.example/review"
    assert received.headers["tags"] == "books"


async def test_a_named_host_is_sent_its_name_while_connecting_to_the_checked_address(
    receiver: Receiver,
) -> None:
    result = await deliver(
        REMINDER, url=receiver.url(host="localhost"), fmt="json", allow_private=True
    )

    assert result.ok
    # One attempt, even if localhost resolved to ::1 first and nothing listens there.
    assert result.attempts == 1
    [received] = receiver.requests
    assert received.headers["host"] == f"localhost:{receiver.port}"


async def test_a_server_error_is_retried_with_backoff(receiver: Receiver, sleep: FakeSleep) -> None:
    receiver.script.statuses = [500, 502]

    result = await deliver(
        REMINDER, url=receiver.url(), fmt="json", allow_private=True, sleep=sleep
    )

    assert result == Delivery(ok=True, attempts=3, status=200, error=None)
    assert len(receiver.requests) == 3
    assert sleep.delays == [1.0, 4.0]


async def test_retries_stop_after_the_last_attempt(receiver: Receiver, sleep: FakeSleep) -> None:
    receiver.script.statuses = [503] * 5

    result = await deliver(
        REMINDER, url=receiver.url(), fmt="json", allow_private=True, sleep=sleep
    )

    assert result.ok is False
    assert (result.attempts, result.status) == (3, 503)
    assert result.error == "the webhook answered 503"
    assert len(receiver.requests) == 3
    assert sleep.delays == [1.0, 4.0]


@pytest.mark.parametrize("status", [408, 429])
async def test_timeout_and_rate_limit_answers_are_retried(
    receiver: Receiver, sleep: FakeSleep, status: int
) -> None:
    receiver.script.statuses = [status]

    result = await deliver(
        REMINDER, url=receiver.url(), fmt="json", allow_private=True, sleep=sleep
    )

    assert (result.ok, result.attempts) == (True, 2)
    assert sleep.delays == [1.0]


@pytest.mark.parametrize("status", [400, 401, 404, 410])
async def test_a_client_error_is_final(receiver: Receiver, sleep: FakeSleep, status: int) -> None:
    receiver.script.statuses = [status]

    result = await deliver(
        REMINDER, url=receiver.url(), fmt="json", allow_private=True, sleep=sleep
    )

    assert result == Delivery(
        ok=False, attempts=1, status=status, error=f"the webhook answered {status}"
    )
    assert len(receiver.requests) == 1
    assert sleep.delays == []


async def test_a_redirect_is_not_followed(receiver: Receiver, sleep: FakeSleep) -> None:
    receiver.script.statuses = [302]
    receiver.script.location = receiver.url("/elsewhere")

    result = await deliver(
        REMINDER, url=receiver.url(), fmt="json", allow_private=True, sleep=sleep
    )

    assert (result.ok, result.attempts, result.status) == (False, 1, 302)
    assert "redirect" in (result.error or "")
    assert [received.path for received in receiver.requests] == ["/hook"]


async def test_a_slow_receiver_times_out_and_is_retried(
    receiver: Receiver, sleep: FakeSleep
) -> None:
    receiver.script.delay = 30.0  # released at teardown; the client gives up long before

    result = await deliver(
        REMINDER,
        url=receiver.url(),
        fmt="json",
        allow_private=True,
        timeout=0.2,
        attempts=2,
        sleep=sleep,
    )

    assert result == Delivery(
        ok=False, attempts=2, status=None, error="the webhook did not answer within 0.2 s"
    )
    assert len(receiver.requests) == 2
    assert sleep.delays == [1.0]


async def test_an_unreachable_receiver_is_retried(sleep: FakeSleep) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"

    result = await deliver(REMINDER, url=url, fmt="json", allow_private=True, sleep=sleep)

    assert (result.ok, result.attempts, result.status) == (False, 3, None)
    assert (result.error or "").startswith("the webhook could not be reached")
    assert sleep.delays == [1.0, 4.0]


async def test_longer_runs_repeat_the_last_backoff(sleep: FakeSleep) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"

    result = await deliver(
        REMINDER, url=url, fmt="json", allow_private=True, attempts=5, sleep=sleep
    )

    assert result.attempts == 5
    assert sleep.delays == [1.0, 4.0, 4.0, 4.0]


async def test_an_unknown_format_is_reported_not_raised(receiver: Receiver) -> None:
    result = await deliver(REMINDER, url=receiver.url(), fmt="xml", allow_private=True)  # type: ignore[arg-type]

    assert (result.ok, result.attempts) == (False, 0)
    assert receiver.requests == []


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),
        ("[::1]", "loopback"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped 127.0.0.1, loopback"),
        ("2130706433", "loopback"),  # 127.0.0.1 written as one number
    ],
)
async def test_loopback_is_refused_and_nothing_is_sent(
    receiver: Receiver, sleep: FakeSleep, host: str, reason: str
) -> None:
    result = await deliver(
        REMINDER, url=receiver.url(host=host), fmt="json", allow_private=False, sleep=sleep
    )

    assert (result.ok, result.attempts, result.status) == (False, 0, None)
    assert result.error is not None
    assert "public addresses" in result.error
    assert f"is not a public address ({reason})" in result.error
    assert receiver.requests == []
    assert sleep.delays == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.1.20:8080/hook", "private"),
        ("http://172.16.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "not public"),
        ("http://240.0.0.1/", "reserved"),
        ("https://[fe80::1]/", "link-local"),
        ("https://[fd00::1]/", "private"),
        ("https://[::ffff:10.0.0.1]/", "IPv4-mapped 10.0.0.1, private"),
        ("https://[::ffff:169.254.169.254]/", "IPv4-mapped 169.254.169.254, link-local"),
        ("https://[2002:a9fe:a9fe::]/", "6to4 for 169.254.169.254, link-local"),
        ("https://[64:ff9b::a00:1]/", "NAT64 for 10.0.0.1, private"),
    ],
)
async def test_private_destinations_are_refused(url: str, reason: str) -> None:
    with pytest.raises(WebhookRefused, match="public addresses") as refused:
        await check_destination(url, allow_private=False)
    assert f"is not a public address ({reason})" in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/reminders",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://93.184.216.34/",
        "//93.184.216.34/hook",
        "93.184.216.34/hook",
    ],
)
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefused, match=r"http:// or https://"):
        await check_destination(url, allow_private=True)


@pytest.mark.parametrize("url", ["http:///hook", "https://", "http://[::1/hook"])
async def test_urls_without_a_usable_host_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefused):
        await check_destination(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "http://93.184.216.34:8080/hook?topic=tutor",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
async def test_public_addresses_are_allowed(url: str) -> None:
    # Only checked, never sent to: these tests send nothing beyond loopback.
    await check_destination(url, allow_private=False)


async def test_private_addresses_are_allowed_when_the_deployment_says_so() -> None:
    await check_destination("http://10.1.2.3/hook", allow_private=True)
    await check_destination("http://[::1]:8080/hook", allow_private=True)


async def test_setting_a_url_and_delivering_to_it_refuse_alike(
    receiver: Receiver, sleep: FakeSleep
) -> None:
    # PATCH /v1/me checks with check_destination, delivery checks again (the name may
    # resolve elsewhere by then): one check, so the learner is told what delivery says.
    url = receiver.url(host="localhost")
    with pytest.raises(WebhookRefused) as refused:
        await check_destination(url, allow_private=False)
    delivery = await deliver(REMINDER, url=url, fmt="json", allow_private=False, sleep=sleep)
    assert delivery.error == str(refused.value)
    assert receiver.requests == []


async def test_a_lookup_that_takes_too_long_is_a_refusal() -> None:
    with pytest.raises(WebhookRefused, match=r"not resolved within 0 s"):
        await check_destination("http://93.184.216.34/hook", allow_private=False, timeout=0)


# --- https ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name localhost only (no IP address in it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with Receiver(tls=context) as server:
        yield server


@pytest.fixture
def trust(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def test_https_verifies_the_name_while_connecting_to_the_checked_address(
    tls_receiver: Receiver, trust: ssl.SSLContext
) -> None:
    url = tls_receiver.url(host="localhost", scheme="https")

    result = await deliver(
        REMINDER, url=url, fmt="json", allow_private=True, ssl_context=trust, attempts=1
    )

    assert result == Delivery(ok=True, attempts=1, status=200, error=None)
    [received] = tls_receiver.requests
    assert received.headers["host"] == f"localhost:{tls_receiver.port}"


async def test_https_refuses_a_certificate_for_another_name(
    tls_receiver: Receiver, trust: ssl.SSLContext
) -> None:
    # The certificate names localhost, not 127.0.0.1: verification must fail, not pass
    # because the connection happened to go to the right address.
    url = tls_receiver.url(host="127.0.0.1", scheme="https")

    result = await deliver(
        REMINDER, url=url, fmt="json", allow_private=True, ssl_context=trust, attempts=1
    )

    assert (result.ok, result.attempts, result.status) == (False, 1, None)
    assert "certificate" in (result.error or "").lower()
    assert tls_receiver.requests == []
