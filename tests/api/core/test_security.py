"""Security, end to end through the API: another learner's data does not exist for you,
keys never rest or get logged in the clear, and hostile text comes back harmless.

Already covered elsewhere, and not repeated here: every /v1 route refuses a missing,
malformed, unknown or revoked key (tests/api/learners/test_auth.py), keys are stored as hashes in
the api_keys table (test_auth.py), the sanitiser itself (tests/unit/test_rendering.py) and
the webhook guard's address classes (tests/api/reminders/test_webhooks.py).
"""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from fakellm import FakeLLM, Reply
from helpers import ANY_TASK_REPLY, bearer, error_of
from papers_api import paper_files
from service.app import create_app
from service.cli import app as cli
from service.cli import safe_access_path
from service.config import Settings
from service.learners.days import learner_day
from service.learners.models import Learner
from service.learners.service import IssuedKey
from service.models import Base
from service.studylog.service import write_entry
from tutor_process import TutorServer

# --- another learner's data ------------------------------------------------------------

_openapi_paths = create_app(Settings(_env_file=None)).openapi()["paths"]
# Every /v1 operation that names a resource in its path: each must be in CROSS_LEARNER.
OPERATIONS_ON_A_RESOURCE = sorted(
    (method.upper(), path)
    for path, operations in _openapi_paths.items()
    if path.startswith("/v1/") and "{" in path
    for method in operations
)

# A request body sent as a multipart form with one PDF in `file`, not as JSON.
UPLOAD = {"file": ("paper.pdf", b"%PDF-1.4\n% Eve's file, not Ada's\n", "application/pdf")}

# (method, path template, JSON body or UPLOAD) sent with another learner's key. A new route with a
# path parameter fails test_every_resource_route_is_covered until it is added here (or
# in OWN_NAMES).
CROSS_LEARNER: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/sources/{source_id}", None),
    ("PATCH", "/v1/sources/{source_id}", {"title": "stolen", "notes": "stolen"}),
    ("DELETE", "/v1/sources/{source_id}", None),
    ("POST", "/v1/sources/{source_id}/document", UPLOAD),
    ("GET", "/v1/sources/{source_id}/document", None),
    ("POST", "/v1/sources/{source_id}/document/extract", None),
    ("GET", "/v1/sessions/{session_id}", None),
    ("PATCH", "/v1/sessions/{session_id}", {"title": "stolen"}),
    ("DELETE", "/v1/sessions/{session_id}", None),
    ("POST", "/v1/sessions/{session_id}/explain", {"passage": "stolen"}),
    ("POST", "/v1/sessions/{session_id}/messages", {"content": "stolen"}),
    ("POST", "/v1/sessions/{session_id}/messages/{message_id}/retry", None),
    (
        "POST",
        "/v1/sessions/{session_id}/critiques",
        {"concept": "attention", "explanation": "stolen words about attention and softmax"},
    ),
    ("GET", "/v1/sessions/{session_id}/critiques", None),
    ("POST", "/v1/sessions/{session_id}/critiques/{critique_id}/reveal", {"issue": 0}),
    ("POST", "/v1/sessions/{session_id}/messages/{message_id}/check", {"answer": "stolen"}),
    ("GET", "/v1/sessions/{session_id}/checks", None),
    ("POST", "/v1/sessions/{session_id}/checks/{check_id}/retry", None),
    ("POST", "/v1/sessions/{session_id}/distill", {}),
    ("POST", "/v1/sessions/{session_id}/prerequisites", {"trigger": "lost", "concept": None}),
    ("GET", "/v1/sessions/{session_id}/prerequisites", None),
    ("GET", "/v1/cards/{card_id}", None),
    ("PATCH", "/v1/cards/{card_id}", {"front": "stolen", "status": "suspended"}),
    ("DELETE", "/v1/cards/{card_id}", None),
    ("GET", "/v1/cards/{card_id}/reviews", None),
    ("GET", "/v1/study-log/{day}", None),
    ("POST", "/v1/study-log/{day}/regenerate", None),
    # Routes that take ids in the body instead of the path.
    ("POST", "/v1/cards/accept", {"ids": ["{draft_id}"]}),
    ("POST", "/v1/reviews", {"card_id": "{card_id}", "grade": 5}),
    ("POST", "/v1/sessions", {"source_id": "{source_id}"}),
    ("POST", "/v1/cards", {"front": "q", "back": "a", "source_id": "{source_id}"}),
    ("POST", "/v1/reviews/undo", None),
    ("PATCH", "/v1/me/knowledge/misconceptions/{misconception_id}", {"dismissed": True}),
]
# Routes whose path parameter is a name in the learner's own namespace, not an id: another
# learner who names the same thing makes their own (checked below: Ada's stays as it was).
OWN_NAMES = [
    ("PATCH", "/v1/me/knowledge/concepts/{concept}", {"mark": "ignore"}),
]


def test_every_resource_route_is_covered() -> None:
    covered = {(method, path) for method, path, _ in CROSS_LEARNER + OWN_NAMES}
    assert set(OPERATIONS_ON_A_RESOURCE) <= covered


def _fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda match: ids[match.group(1)], template)
    if isinstance(template, dict):
        return {key: _fill(value, ids) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, ids) for value in template]
    return template


async def _ada_studies(app: FastAPI, api: httpx.AsyncClient) -> dict[str, str]:
    """Ada's world: one of everything, through the API (and the nightly job's function)."""
    source = (await api.post("/v1/sources", json={"title": "Attention"})).json()
    session = (await api.post("/v1/sessions", json={"source_id": source["id"]})).json()
    base = f"/v1/sessions/{session['id']}"
    explained = await api.post(f"{base}/explain", json={"passage": "Scale by 1/sqrt(d_k)."})
    critique = {"concept": "attention", "explanation": "Softmax of QK^T over sqrt d_k, times V."}
    critiqued = await api.post(f"{base}/critiques", json=critique)
    assert critiqued.status_code == 201
    message_id = explained.json()["message"]["id"]
    checked = await api.post(f"{base}/messages/{message_id}/check", json={"answer": "Q?"})
    assert checked.status_code == 201, checked.text
    drafts = (await api.post(f"{base}/distill", json={})).json()["cards"]
    assert len(drafts) == 2
    accepted = await api.post("/v1/cards/accept", json={"ids": [drafts[0]["id"]]})
    assert accepted.status_code == 200
    review = await api.post("/v1/reviews", json={"card_id": drafts[0]["id"], "grade": 3})
    assert review.status_code == 201, review.text
    async with app.state.database.sessionmaker() as db:
        ada = await db.scalar(select(Learner).where(Learner.name == "ada"))
        assert ada is not None
        day = learner_day(ada, app.state.clock.now())
        assert await write_entry(db, llm=app.state.llm, learner=ada, day=day) is not None
    return {
        "source_id": source["id"],
        "session_id": session["id"],
        "message_id": message_id,
        "critique_id": critiqued.json()["id"],
        "misconception_id": f"{critiqued.json()['id']}.0",
        "concept": "attention",
        "check_id": checked.json()["id"],
        "card_id": drafts[0]["id"],
        "draft_id": drafts[1]["id"],
        "day": day.isoformat(),
    }


async def _everything_of(api: httpx.AsyncClient, ids: dict[str, str]) -> dict[str, Any]:
    paths = [
        "/v1/me",
        "/v1/me/knowledge",
        "/v1/sources",
        "/v1/sessions",
        "/v1/sessions/{session_id}",
        "/v1/sessions/{session_id}/critiques",
        "/v1/sessions/{session_id}/checks",
        "/v1/cards",
        "/v1/cards/{card_id}/reviews",
        "/v1/reviews/queue",
        "/v1/study-log",
        "/v1/export/csv?include=all",
    ]
    seen = {}
    for path in paths:
        response = await api.get(_fill(path, ids))
        assert response.status_code == 200, (path, response.text)
        is_json = response.headers["content-type"].startswith("application/json")
        seen[path] = response.json() if is_json else response.text
    return seen


async def test_another_learners_data_does_not_exist_for_you(
    app: FastAPI,
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    make_learner: Callable[..., Any],
    fake_llm: FakeLLM,
    settings: Settings,
) -> None:
    fake_llm.default = Reply(ANY_TASK_REPLY)
    ids = await _ada_studies(app, api)
    before = await _everything_of(api, ids)
    model_calls = len(fake_llm.requests)
    eve = bearer((await make_learner("eve")).key)

    for method, template, body in CROSS_LEARNER:
        path = _fill(template, ids)
        if body is UPLOAD:
            response = await client.request(method, path, files=UPLOAD, headers=eve)
        else:
            response = await client.request(method, path, json=_fill(body, ids), headers=eve)
        assert response.status_code == 404, (method, template, response.text)
        assert set(response.json()) == {"error"}
        assert ids["source_id"] not in response.text or "source_id" in template + str(body)
    # Eve's upload to Ada's source left no file behind.
    assert paper_files(settings) == []

    for method, template, body in OWN_NAMES:
        response = await client.request(method, _fill(template, ids), json=body, headers=eve)
        assert response.status_code == 200, (method, template, response.text)
        assert response.json()["attempts"] == 0  # Eve's own concept, not Ada's

    # Filters naming Ada's things find nothing of Eve's, and nothing of Ada's either.
    for query in (f"session_id={ids['session_id']}", f"source_id={ids['source_id']}", "q=Why"):
        listed = await client.get(f"/v1/cards?{query}", headers=eve)
        assert listed.status_code == 200
        assert listed.json()["items"] == []
    for path in ("/v1/sources", "/v1/sessions", "/v1/cards", "/v1/study-log"):
        assert (await client.get(path, headers=eve)).json()["items"] == []
    exported = await client.get("/v1/export/csv?include=all", headers=eve)
    assert "sqrt" not in exported.text

    assert len(fake_llm.requests) == model_calls, "another learner's key reached the model"
    assert await _everything_of(api, ids) == before


# --- keys at rest and in logs ----------------------------------------------------------


async def _all_stored_text(session: AsyncSession) -> str:
    rows = []
    for table in Base.metadata.sorted_tables:
        result = await session.execute(text(f"SELECT * FROM {table.name}"))  # noqa: S608
        rows.extend(str(tuple(row)) for row in result)
    return "\n".join(rows)


async def test_no_column_of_any_table_holds_a_key(
    api: httpx.AsyncClient, session: AsyncSession, learner: IssuedKey
) -> None:
    # Requests that write: last_used_at, a source, a session; then look everywhere.
    assert (await api.post("/v1/sources", json={"title": "Attention"})).status_code == 201
    assert (await api.post("/v1/sessions", json={})).status_code == 201
    stored = await _all_stored_text(session)
    secret = learner.key.removeprefix("tutor_")
    assert "ada" in stored  # the scan does see the data
    assert secret not in stored
    assert secret[8:] not in stored  # not even past the visible prefix


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def test_keys_never_reach_the_logs_of_requests(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    learner: IssuedKey,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    assert (await api.get("/v1/me")).status_code == 200
    wrong = learner.key[:-4] + "AAAA"
    assert (await client.get("/v1/me", headers=bearer(wrong))).status_code == 401
    assert (await client.get("/v1/me", headers={"Authorization": wrong})).status_code == 401

    logged = "\n".join(record.getMessage() for record in debug_logs.records)
    assert debug_logs.records  # DEBUG capture did record something
    for key in (learner.key, wrong):
        assert key.removeprefix("tutor_") not in logged


def test_keys_never_reach_the_logs_of_the_cli(
    database_url: str,
    debug_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUTOR_DATABASE_URL", database_url)
    monkeypatch.setenv("TUTOR_LOG_LEVEL", "debug")
    keys = []
    for args in (["learner", "add", "grace"], ["learner", "key", "grace"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        printed = re.search(r"tutor_[A-Za-z0-9]{40}", result.output)
        assert printed is not None  # shown to the operator once, on the terminal
        keys.append(printed.group())

    logged = "\n".join(record.getMessage() for record in debug_logs.records)
    for key in keys:
        assert key.removeprefix("tutor_") not in logged


def _tutor_serve(tmp_path: Path, send: Callable[[httpx.Client, str], None]) -> tuple[str, str]:
    """A real `tutor serve` at debug level: `send(client, key)` with the first learner's
    key, shown once in the banner; returns the key and everything printed after it."""
    server = TutorServer(tmp_path, log_level="debug")
    key = server.start()
    try:
        assert key is not None, server.printed()
        banner = len(server.output)
        with httpx.Client(base_url=server.url) as http:
            send(http, key)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    return key, "".join(server.output[banner:])


def test_uvicorn_logs_neither_the_header_nor_the_key(tmp_path: Path) -> None:
    """After the banner that shows the first key once, no line of output holds a key,
    whether it was accepted or refused."""

    def send(http: httpx.Client, key: str) -> None:
        assert http.get("/v1/me", headers=bearer(key)).status_code == 200
        assert http.get("/v1/me", headers=bearer(key[:-4] + "AAAA")).status_code == 401

    key, rest = _tutor_serve(tmp_path, send)
    wrong = key[:-4] + "AAAA"
    assert '"GET /v1/me HTTP/1.1" 200' in rest  # the access log is on
    assert key.removeprefix("tutor_") not in rest
    assert wrong.removeprefix("tutor_") not in rest
    assert "authorization" not in rest.lower()


def test_the_access_log_keeps_parameter_names_only_and_never_a_key(tmp_path: Path) -> None:
    """Search terms (learners' words) and keys sent where they do not belong, in a query
    string or a path, are not written to the access log."""
    search = {"q": "why does my loss explode", "tag": "private-diary", "limit": "5"}

    def send(http: httpx.Client, key: str) -> None:
        assert http.get("/v1/cards", params=search, headers=bearer(key)).status_code == 200
        assert http.get("/v1/me", params={"key": key}).status_code == 401
        assert http.get(f"/v1/me?{key}").status_code == 401
        assert http.get(f"/{key}").status_code == 404

    key, rest = _tutor_serve(tmp_path, send)
    assert '"GET /v1/cards?q&tag&limit HTTP/1.1" 200' in rest
    assert '"GET /v1/me?key HTTP/1.1" 401' in rest
    for value in (search["q"], search["tag"], "why+does", "why%20does"):
        assert value not in rest
    assert key.removeprefix("tutor_") not in rest


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/v1/cards", "/v1/cards"),
        ("/v1/cards?q=attention+heads&tag=rl", "/v1/cards?q&tag"),
        ("/v1/me?key=tutor_abcDEF123", "/v1/me?key"),
        ("/v1/me?tutor_abcDEF123", "/v1/me?***"),
        ("/v1/me?a%20b=1&&cursor=xyz", "/v1/me?***&cursor"),
        ("/tutor_abcDEF123/v1/me", "/tutor_***/v1/me"),
    ],
)
def test_safe_access_path(target: str, logged: str) -> None:
    assert safe_access_path(target) == logged


# --- hostile text ----------------------------------------------------------------------

HOSTILE = "\n\n".join(
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">js</a> [md](javascript:alert(1))',
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<iframe src="https://evil.example/"></iframe>',
        "<style>body{display:none}</style>",
        '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>',
        '<math><mi href="javascript:alert(1)" actiontype="toggle">x</mi></math>',
        '<div onclick="alert(1)" style="position:fixed">click</div>',
        r"$\href{javascript:alert(1)}{x}$ and $$\style{color:red}{x}$$",
    ]
)
_FORBIDDEN_TAGS = {"script", "iframe", "style", "svg", "object", "embed", "img", "frame", "form"}
_FORBIDDEN_ATTRIBUTES = {"style", "actiontype", "xlink:href", "srcdoc", "formaction"}
_SAFE_SCHEMES = ("http:", "https:", "mailto:", "#")


class _Elements(HTMLParser):
    """Every element and attribute as a browser would see them (escaped text is text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def _assert_harmless(html: str) -> None:
    assert html  # something was rendered
    parser = _Elements()
    parser.feed(html)
    assert parser.elements, html  # and the parser saw elements to judge
    for tag, attributes in parser.elements:
        assert tag not in _FORBIDDEN_TAGS, html
        for name, value in attributes.items():
            assert not name.startswith("on"), html
            assert name not in _FORBIDDEN_ATTRIBUTES, html
            if name in ("href", "src", "action") and value:
                compact = re.sub(r"[\x00-\x20]", "", value).lower()
                assert compact.startswith(_SAFE_SCHEMES), html


async def test_hostile_cards_render_harmless(api: httpx.AsyncClient) -> None:
    for kind, front in (("basic", HOSTILE), ("cloze", HOSTILE + " {{c1::<script>x</script>}}")):
        created = await api.post("/v1/cards", json={"front": front, "back": HOSTILE, "kind": kind})
        assert created.status_code == 201, created.text
        card = created.json()
        for listed in (card, (await api.get(f"/v1/cards/{card['id']}")).json()):
            _assert_harmless(listed["front_html"])
            _assert_harmless(listed["back_html"])


async def test_hostile_passages_and_model_answers_render_harmless(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply(HOSTILE))
    session = (await api.post("/v1/sessions", json={})).json()
    answered = await api.post(f"/v1/sessions/{session['id']}/explain", json={"passage": HOSTILE})
    assert answered.status_code == 200
    _assert_harmless(answered.json()["message"]["html"])
    messages = (await api.get(f"/v1/sessions/{session['id']}")).json()["messages"]
    assert {m["role"] for m in messages} == {"learner", "tutor"}
    for message in messages:
        _assert_harmless(message["html"])


async def test_hostile_study_log_narrative_renders_harmless(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Reply(HOSTILE)
    assert (await api.post("/v1/cards", json={"front": "q", "back": "a"})).status_code == 201
    async with app.state.database.sessionmaker() as db:
        ada = await db.scalar(select(Learner).where(Learner.name == "ada"))
        assert ada is not None
        day = learner_day(ada, app.state.clock.now())
        assert await write_entry(db, llm=app.state.llm, learner=ada, day=day) is not None
    entry = (await api.get(f"/v1/study-log/{day.isoformat()}")).json()
    _assert_harmless(entry["narrative_html"])


async def test_source_text_is_returned_as_text_not_html(api: httpx.AsyncClient) -> None:
    # Sources have no *_html fields: the browser inserts title and notes as text, so the
    # API returns exactly what was sent rather than an escaped or "cleaned" copy.
    body = {"title": "<script>alert(1)</script>", "notes": HOSTILE}
    source = (await api.post("/v1/sources", json=body)).json()
    assert (source["title"], source["notes"]) == (body["title"], body["notes"])
    assert not any(key.endswith("html") for key in source)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "ftp://example.org/paper.pdf",
        "//evil.example/x",
    ],
)
async def test_source_urls_must_be_http(api: httpx.AsyncClient, url: str) -> None:
    created = await api.post("/v1/sources", json={"title": "x", "url": url})
    assert created.status_code == 422
    assert error_of(created)["details"][0]["field"] == "url"
    good = (await api.post("/v1/sources", json={"title": "x", "url": "https://arxiv.org"})).json()
    changed = await api.patch(f"/v1/sources/{good['id']}", json={"url": url})
    assert changed.status_code == 422
    assert (await api.get(f"/v1/sources/{good['id']}")).json()["url"] == "https://arxiv.org"
