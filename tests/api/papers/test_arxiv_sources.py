"""`POST /v1/sources` with an arXiv id or link, against a local fake arXiv: the paper
fetched (its LaTeX source, else its PDF), the source created, the paper read in the
background into sections, equations and symbols; and every way it can be refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import fakearxiv
from fakearxiv import FakeArxiv
from helpers import error_of
from papers_api import blocks_of, paper_files, settled
from service.config import ArxivSettings, Settings


@pytest.fixture(scope="module")
def fake_arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv().with_papers() as fake:
        yield fake


@pytest.fixture
def arxiv_overrides() -> dict[str, Any]:
    """arXiv settings a test changes, by parametrizing this fixture."""
    return {}


@pytest.fixture
def settings(
    settings: Settings, fake_arxiv: FakeArxiv, arxiv_overrides: dict[str, Any]
) -> Settings:
    arxiv = ArxivSettings(**({"url": fake_arxiv.base_url, "timeout": 20} | arxiv_overrides))
    return settings.model_copy(update={"arxiv": arxiv})


def _section(document: dict[str, Any], number: str) -> dict[str, Any]:
    (section,) = [s for s in document["sections"] if s["number"] == number]
    return section


async def _sources(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    listed = await api.get("/v1/sources")
    assert listed.status_code == 200
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_a_latex_source_is_fetched_and_read(
    api: httpx.AsyncClient, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.requests.clear()
    created = await api.post("/v1/sources", json={"arxiv": "https://arxiv.org/abs/1706.03762"})

    assert created.status_code == 201, created.text
    source = created.json()
    assert (source["title"], source["url"], source["kind"], source["status"]) == (
        "arXiv 1706.03762",  # until the paper is read
        "https://arxiv.org/abs/1706.03762",  # arXiv's own page, whichever mirror served it
        "paper",
        "queued",
    )
    # Only the configured arXiv, only the e-print: the source was there.
    assert fake_arxiv.requests == ["/e-print/1706.03762"]

    document = await settled(api, source["id"])
    assert document["status"] == "ready", document["error"]
    assert (document["title"], document["origin"], document["page_count"]) == (
        "Attention Is All You Need",
        "latex",
        None,
    )
    assert document["file_name"] == "1706.03762.tar.gz"
    # The source takes the paper's own title once it is read.
    read = (await api.get(f"/v1/sources/{source['id']}")).json()
    assert read["title"] == "Attention Is All You Need"
    outline = [(s["number"], s["heading"], s["level"]) for s in document["sections"]]
    assert outline[:7] == [
        (None, "Abstract", 1),
        ("1", "Introduction", 1),
        ("2", "Background", 1),
        ("3", "Model Architecture", 1),
        ("3.1", "Encoder and Decoder Stacks", 2),
        ("3.2", "Attention", 2),
        ("3.2.1", "Scaled Dot-Product Attention", 3),
    ]
    scaled = _section(document, "3.2.1")
    _, equation, after = scaled["blocks"]
    assert equation["kind"] == "equation"
    assert equation["label"] == "(1)"
    assert equation["latex"] == (
        "\\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\left(\\frac{QK^T}{\\sqrt{d_k}}\\right)V"
    )
    assert equation["html"].startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display')
    assert "<msqrt>" in equation["html"]  # the exact math, shown as math
    positions = [block["position"] for block in blocks_of(document)]
    assert positions == list(range(len(positions)))  # paper-wide, across sections
    assert after["text"].startswith("We suspect that for large values of $d_k$")
    (d_k,) = [symbol for symbol in document["symbols"] if symbol["symbol"] == "d_k"]
    assert d_k["definition"] == "the dimension of the keys"
    defining = document["sections"][d_k["section"]]
    assert defining["number"] == "3.2"  # defined in 3.2, before 3.2.1 uses it
    assert "where $d_k$ is the dimension of the keys" in defining["blocks"][d_k["block"]]["text"]
    assert all(block["page"] is None for block in blocks_of(document))


async def test_a_paper_without_source_is_read_from_its_pdf(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    created = await api.post(
        "/v1/sources", json={"arxiv": "arXiv:1606.06565", "title": "AI safety", "notes": "Ch. 1"}
    )
    assert created.status_code == 201, created.text
    source = created.json()
    assert (source["title"], source["notes"]) == ("AI safety", "Ch. 1")  # the learner's own
    document = await settled(api, source["id"])
    assert document["status"] == "ready", document["error"]
    assert (document["origin"], document["page_count"]) == ("pdf", 1)
    assert document["file_name"] == "1606.06565.pdf"
    assert any("reward function" in block["text"] for block in blocks_of(document))
    assert [path.suffix for path in paper_files(settings)] == [".pdf"]
    # A title the learner gave stays theirs.
    assert (await api.get(f"/v1/sources/{source['id']}")).json()["title"] == "AI safety"


async def test_a_single_gzipped_tex_file_is_read(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/sources", json={"arxiv": "1707.06347"})
    assert created.status_code == 201, created.text
    document = await settled(api, created.json()["id"])
    assert document["status"] == "ready", document["error"]
    assert document["title"] == "Proximal Policy Optimization Algorithms"
    symbols = {s["symbol"]: s["definition"] for s in document["symbols"]}
    assert symbols["\\pi_\\theta"] == "a stochastic policy"
    assert symbols["\\hat{A}_t"] == "an estimator of the advantage function at timestep $t$"


@pytest.mark.parametrize(
    "pasted",
    [
        "attention is all you need",
        "https://evil.example/abs/1706.03762",  # a host from the learner is never fetched
        "http://127.0.0.1:1/e-print/1706.03762",
    ],
)
async def test_what_is_not_an_arxiv_id_is_refused(
    api: httpx.AsyncClient, fake_arxiv: FakeArxiv, pasted: str
) -> None:
    fake_arxiv.requests.clear()
    refused = await api.post("/v1/sources", json={"arxiv": pasted})
    assert refused.status_code == 422
    assert error_of(refused)["code"] == "not_an_arxiv_id"
    assert fake_arxiv.requests == []
    assert await _sources(api) == []


@pytest.mark.parametrize("arxiv_overrides", [{"fetch": False}])
async def test_fetching_turned_off(api: httpx.AsyncClient, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.requests.clear()
    refused = await api.post("/v1/sources", json={"arxiv": "1706.03762"})
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "arxiv_fetch_off"
    assert "TUTOR_ARXIV_FETCH" in error["message"]
    assert fake_arxiv.requests == []
    # A source with a title alone is still welcome.
    assert (await api.post("/v1/sources", json={"title": "Attention"})).status_code == 201


async def test_a_paper_arxiv_does_not_have_leaves_nothing_behind(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    refused = await api.post("/v1/sources", json={"arxiv": "2401.99999"})
    assert refused.status_code == 422
    assert error_of(refused)["code"] == "arxiv_not_found"
    assert await _sources(api) == []
    assert paper_files(settings) == []


async def test_a_redirect_away_from_arxiv_is_not_followed(api: httpx.AsyncClient) -> None:
    refused = await api.post("/v1/sources", json={"arxiv": fakearxiv.REDIRECTS_AWAY})
    assert refused.status_code == 502
    assert error_of(refused)["code"] == "arxiv_unavailable"


@pytest.mark.parametrize("arxiv_overrides", [{"timeout": 0.5}])
async def test_a_slow_arxiv(api: httpx.AsyncClient, settings: Settings) -> None:
    refused = await api.post("/v1/sources", json={"arxiv": fakearxiv.SLOW})
    assert refused.status_code == 504
    assert error_of(refused)["code"] == "arxiv_timeout"
    assert await _sources(api) == []
    assert paper_files(settings) == []


@pytest.mark.parametrize("arxiv_overrides", [{"max_bytes": 1024}])
async def test_a_paper_too_large(api: httpx.AsyncClient, settings: Settings) -> None:
    refused = await api.post("/v1/sources", json={"arxiv": "1706.03762"})
    assert refused.status_code == 422
    assert error_of(refused)["code"] == "arxiv_too_large"
    assert paper_files(settings) == []


async def test_a_title_or_an_arxiv_id_is_needed(api: httpx.AsyncClient) -> None:
    refused = await api.post("/v1/sources", json={"notes": "which paper?"})
    assert refused.status_code == 422
    assert error_of(refused)["code"] == "validation_error"


async def test_a_hostile_source_fails_with_a_clear_code_and_is_kept(
    api: httpx.AsyncClient, fake_arxiv: FakeArxiv, settings: Settings
) -> None:
    looping = {
        "main.tex": "\\documentclass{article}\\begin{document}\\input{a}\\end{document}",
        "a.tex": "\\input{main}",
    }
    fake_arxiv.serve("/e-print/2401.00020", fakearxiv.Answer(body=fakearxiv.tarball(looping)))
    created = await api.post("/v1/sources", json={"arxiv": "2401.00020"})
    assert created.status_code == 201, created.text

    document = await settled(api, created.json()["id"])
    assert document["status"] == "failed"
    assert document["error"]["code"] == "latex_unreadable"
    assert "inside itself" in document["error"]["message"]
    assert [path.name.endswith(".tar.gz") for path in paper_files(settings)] == [True]
