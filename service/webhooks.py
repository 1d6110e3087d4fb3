"""Reminder webhooks: the body Tutor POSTs when cards are due, and a guarded delivery.

A webhook URL is learner input that makes the server send a request, which is the
textbook server-side request forgery: "remind me at http://169.254.169.254/..." must not
reach the cloud metadata service, nor the database, nor anything else on the private
network. So the destination is resolved and every address checked before anything is
sent, and the request then goes to an address that was checked, never to a fresh lookup
of the name (see `_send_pinned`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

import httpx

from service import __version__

WebhookFormat = Literal["json", "slack", "ntfy"]
# For validating the learner's setting, which the database keeps as a plain string.
WEBHOOK_FORMATS: tuple[WebhookFormat, ...] = get_args(WebhookFormat)
Sleep = Callable[[float], Awaitable[None]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

USER_AGENT = f"Tutor/{__version__} (reminder webhook)"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PRINTABLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))
# The NAT64 well-known prefix (RFC 6052): a gateway would carry 64:ff9b::a00:1 to 10.0.0.1.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Retried: the receiver is down or busy, or asks for patience. Other 4xx will not improve.
_RETRY_STATUSES = frozenset({408, 429})


# --- what is sent -------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    learner: str
    date: date
    due: int
    new: int
    url: str  # Tutor's review page, where a click on the reminder should land


def payload(reminder: Reminder, fmt: WebhookFormat) -> tuple[bytes, dict[str, str]]:
    """The request body and headers for a reminder in the learner's chosen format."""
    if fmt == "json":
        return _json_payload(reminder)
    if fmt == "slack":
        return _slack_payload(reminder)
    if fmt == "ntfy":
        return _ntfy_payload(reminder)
    raise ValueError(f"unknown webhook format {fmt!r}; expected json, slack or ntfy")


def _summary(reminder: Reminder) -> str:
    cards = "card" if reminder.due == 1 else "cards"
    return f"{reminder.due} {cards} due and {reminder.new} new for {reminder.date.isoformat()}"


def _json_body(value: object) -> bytes:
    return json.dumps(value).encode()


def _json_payload(reminder: Reminder) -> tuple[bytes, dict[str, str]]:
    body = {
        "learner": reminder.learner,
        "date": reminder.date.isoformat(),
        "due": reminder.due,
        "new": reminder.new,
        "url": reminder.url,
    }
    return _json_body(body), {"Content-Type": "application/json"}


def _slack_escape(text: str) -> str:
    # Slack reads &, < and > as markup and wants exactly these three as entities.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_payload(reminder: Reminder) -> tuple[bytes, dict[str, str]]:
    # In <url|label> the first "|" ends the URL, so one inside it must be percent-encoded.
    link = _slack_escape(reminder.url).replace("|", "%7C")
    text = f"Tutor: {_summary(reminder)} → <{link}|review now>"
    return _json_body({"text": text}), {"Content-Type": "application/json"}


def _ntfy_payload(reminder: Reminder) -> tuple[bytes, dict[str, str]]:
    # ntfy takes the body as the message and everything else from headers; "books" is an
    # emoji short code, shown as 📚 next to the title.
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Title": "Tutor reminder",
        "Click": _header_safe(reminder.url),
        "Tags": "books",
    }
    return f"{_summary(reminder)}.".encode(), headers


def _header_safe(url: str) -> str:
    # Header values are ASCII; percent-encoding the rest (and any space or line break)
    # keeps a non-ASCII review URL working and cannot end the header early.
    return urllib.parse.quote(url, safe=_PRINTABLE_ASCII)


# --- where it may go ----------------------------------------------------------------


class WebhookRefused(Exception):
    """The webhook URL is not one Tutor will send to; the message says why."""


@dataclass(frozen=True)
class _Destination:
    url: httpx.URL
    addresses: tuple[str, ...]  # every address the host resolved to, all checked


# Long enough for a slow resolver, short enough to answer a learner saving their settings.
LOOKUP_SECONDS = 10.0


async def check_destination(
    url: str,
    *,
    allow_private: bool,
    timeout: float = LOOKUP_SECONDS,  # noqa: ASYNC109 - seconds, like deliver's
) -> None:
    """Raise WebhookRefused unless `url` is http(s) and its host resolves only to public
    addresses (or `allow_private`, for self-hosted receivers on the same network).

    The same check `deliver` makes, for the moment the learner sets the URL, so a refusal
    is seen where it can be fixed. Delivery checks again: the name may resolve elsewhere
    by then.
    """
    await _checked_destination(url, allow_private=allow_private, seconds=timeout)


async def _checked_destination(url: str, *, allow_private: bool, seconds: float) -> _Destination:
    try:
        async with asyncio.timeout(seconds):
            return await _destination(url, allow_private=allow_private)
    except TimeoutError:
        raise WebhookRefused(f"the webhook host was not resolved within {seconds:g} s") from None


async def _destination(url: str, *, allow_private: bool) -> _Destination:
    parsed = _parse(url)
    addresses = await _resolve(parsed)
    if not allow_private:
        for text in addresses:
            reason = _forbidden(ipaddress.ip_address(text))
            if reason is not None:
                raise WebhookRefused(_refusal(parsed.host, text, reason))
    return _Destination(parsed, addresses)


def _parse(url: str) -> httpx.URL:
    # One parser for the check and the request, so they cannot disagree about the host.
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise WebhookRefused(f"the webhook URL is not a valid URL: {exc}") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise WebhookRefused("the webhook URL must start with http:// or https://")
    if not parsed.host:
        raise WebhookRefused("the webhook URL has no host")
    return parsed


async def _resolve(url: httpx.URL) -> tuple[str, ...]:
    host = url.raw_host.decode("ascii")  # IDNA-encoded already, as the resolver wants
    port = url.port or _DEFAULT_PORTS[url.scheme]
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused(f"the webhook host {url.host} cannot be resolved") from exc
    # In the resolver's preference order, without the duplicates it returns per protocol.
    addresses = tuple(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))
    if not addresses:
        raise WebhookRefused(f"the webhook host {url.host} resolves to no address")
    return addresses


def _forbidden(address: IPAddress) -> str | None:
    """Why Tutor will not send to `address`, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        for kind, inner in _embedded_ipv4(address):
            reason = _forbidden(inner)
            if reason is not None:
                return f"{kind} {inner}, {reason}"
    checks = (
        (address.is_loopback, "loopback"),
        (address.is_unspecified, "unspecified"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        # Catches what the flags above miss, such as 100.64.0.0/10 (carrier-grade NAT,
        # also the range of VPN meshes like Tailscale).
        (not address.is_global, "not public"),
    )
    return next((reason for hit, reason in checks if hit), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    # Each of these IPv6 forms can carry a packet to the IPv4 address inside it.
    embedded: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.ipv4_mapped is not None:
        embedded.append(("IPv4-mapped", address.ipv4_mapped))
    if address.sixtofour is not None:
        embedded.append(("6to4 for", address.sixtofour))
    if address.teredo is not None:
        embedded.append(("Teredo for", address.teredo[1]))
    if address in _NAT64:
        embedded.append(("NAT64 for", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)))
    return embedded


def _refusal(host: str, address: str, reason: str) -> str:
    where = address if host == address else f"{host} resolves to {address}, which"
    return f"{where} is not a public address ({reason}); reminders only go to public addresses"


# --- sending ------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int  # requests tried; 0 when the destination was refused
    status: int | None  # the last HTTP status, None if no answer came back
    error: str | None


async def deliver(
    reminder: Reminder,
    *,
    url: str,
    fmt: WebhookFormat,
    allow_private: bool,
    # A plain number of seconds is this function's contract; asyncio.timeout is used inside.
    timeout: float = 10.0,  # noqa: ASYNC109
    attempts: int = 3,
    backoff: Sequence[float] = (1.0, 4.0),
    sleep: Sleep = asyncio.sleep,
    ssl_context: ssl.SSLContext | None = None,
) -> Delivery:
    """POST the reminder, retrying what may succeed later. Never raises for a bad URL,
    a refused destination or a failing receiver: the Delivery says what happened.

    `backoff[i]` is the pause before retry i+1 (the last one repeats); `timeout` bounds
    the name lookup and each attempt as a whole; `ssl_context` replaces the default
    trust store (tests use it to trust their own certificate).
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    try:
        body, headers = payload(reminder, fmt)
        destination = await _checked_destination(url, allow_private=allow_private, seconds=timeout)
    except (ValueError, WebhookRefused) as exc:
        return Delivery(ok=False, attempts=0, status=None, error=str(exc))

    # No redirects (one could point anywhere, including inside), and no proxy settings or
    # .netrc credentials from the environment: the request goes where it was checked to go.
    async with httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
        verify=ssl_context if ssl_context is not None else True,
        headers={"User-Agent": USER_AGENT},
    ) as client:
        attempt = 0
        while True:
            attempt += 1
            status, error = await _attempt(client, destination, body, headers, timeout)
            if error is None:
                return Delivery(ok=True, attempts=attempt, status=status, error=None)
            if attempt >= attempts or not _retryable(status):
                return Delivery(ok=False, attempts=attempt, status=status, error=error)
            if backoff:
                await sleep(backoff[min(attempt - 1, len(backoff) - 1)])


def _retryable(status: int | None) -> bool:
    return status is None or status >= 500 or status in _RETRY_STATUSES


async def _attempt(
    client: httpx.AsyncClient,
    destination: _Destination,
    body: bytes,
    headers: dict[str, str],
    seconds: float,
) -> tuple[int | None, str | None]:
    """One delivery attempt: the status, and an error unless it succeeded."""
    try:
        # httpx's timeout is per read or write; this bounds a receiver that drips bytes.
        async with asyncio.timeout(seconds):
            status = await _send_pinned(client, destination, body, headers)
    except (TimeoutError, httpx.TimeoutException):
        return None, f"the webhook did not answer within {seconds:g} s"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return None, f"the webhook could not be reached: {str(exc) or type(exc).__name__}"
    if 200 <= status < 300:
        return status, None
    if 300 <= status < 400:
        return status, f"the webhook answered {status}, a redirect, which is not followed"
    return status, f"the webhook answered {status}"


async def _send_pinned(
    client: httpx.AsyncClient,
    destination: _Destination,
    body: bytes,
    headers: dict[str, str],
) -> int:
    """POST to the checked addresses in turn until one accepts the connection.

    Resolving the name again here would reopen DNS rebinding: a name that answered with
    a public address for the check could answer 127.0.0.1 a moment later. So the URL
    carries the checked address itself, while the Host header and, for https, the TLS
    server name (httpcore's `sni_hostname` extension; the certificate is verified against
    it) keep the real host name. The client is fresh per delivery, so its pooled
    connections, keyed by address, are never shared with another host.
    """
    url = destination.url
    headers = {**headers, "Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    *fallbacks, last = destination.addresses
    for address in fallbacks:
        try:
            return await _post(client, url.copy_with(host=address), body, headers, extensions)
        except httpx.ConnectError:
            # Nothing was sent, so the next address (say IPv4 after IPv6) is safe to try.
            continue
    return await _post(client, url.copy_with(host=last), body, headers, extensions)


async def _post(
    client: httpx.AsyncClient,
    url: httpx.URL,
    body: bytes,
    headers: dict[str, str],
    extensions: dict[str, str],
) -> int:
    request = client.build_request(
        "POST", url, content=body, headers=headers, extensions=extensions
    )
    # Streamed and closed unread: only the status matters, whatever the size of the body.
    response = await client.send(request, stream=True)
    await response.aclose()
    return response.status_code
