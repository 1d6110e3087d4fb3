"""What a learner pastes, read as an arXiv id; anything else refused; the addresses
fetched are the configured arXiv's and the id's alone."""

from __future__ import annotations

import pytest

from service.papers.arxiv import ArxivId, NotAnArxivId, parse_arxiv_id


@pytest.mark.parametrize(
    ("pasted", "identifier", "version"),
    [
        ("1706.03762", "1706.03762", None),
        ("  1706.03762v7 ", "1706.03762", 7),
        ("0704.0001", "0704.0001", None),  # the first new-style id: four digits
        ("2305.18290", "2305.18290", None),
        ("arXiv:1706.03762", "1706.03762", None),
        ("arxiv: 1707.06347v2", "1707.06347", 2),
        ("cs/0112017", "cs/0112017", None),
        ("hep-th/9901001v3", "hep-th/9901001", 3),
        ("math.GT/0309136", "math.GT/0309136", None),
        ("arXiv:cs/0112017", "cs/0112017", None),
        ("https://arxiv.org/abs/1706.03762", "1706.03762", None),
        ("https://arxiv.org/abs/1706.03762v7", "1706.03762", 7),
        ("http://arxiv.org/pdf/1706.03762", "1706.03762", None),
        ("https://arxiv.org/pdf/1706.03762v7.pdf", "1706.03762", 7),
        ("https://www.arxiv.org/abs/1706.03762/", "1706.03762", None),
        ("https://export.arxiv.org/abs/1706.03762?context=cs", "1706.03762", None),
        ("https://arxiv.org/abs/cs/0112017v1#section", "cs/0112017", 1),
        ("https://arxiv.org/html/2305.18290v3", "2305.18290", 3),
        ("https://arxiv.org/e-print/1706.03762", "1706.03762", None),
    ],
)
def test_ids_and_links(pasted: str, identifier: str, version: int | None) -> None:
    assert parse_arxiv_id(pasted) == ArxivId(identifier, version)


@pytest.mark.parametrize(
    "pasted",
    [
        "",
        "   ",
        "1706.0376",  # too short
        "1706.037621",  # too long
        "1713.03762",  # no thirteenth month
        "1706.03762v0",
        "1706.03762v",
        "17060.3762",
        "attention is all you need",
        "cs/011201",
        "CS/0112017",
        "https://evil.example/abs/1706.03762",
        "https://arxiv.org.evil.example/abs/1706.03762",
        "https://evil.example/?u=https://arxiv.org/abs/1706.03762",
        "https://arxiv.org:8443/abs/1706.03762",
        "https://user@arxiv.org/abs/1706.03762",
        "ftp://arxiv.org/abs/1706.03762",
        "https://arxiv.org/list/cs.LG/recent",
        "https://arxiv.org/abs/1706.03762/../../etc/passwd",
        "https://arxiv.org/abs/",
        "file:///etc/passwd",
        "1706.03762 ; rm -rf /",
        "1706.03762" + "0" * 400,
    ],
)
def test_anything_else_is_refused(pasted: str) -> None:
    with pytest.raises(NotAnArxivId) as refused:
        parse_arxiv_id(pasted)
    assert refused.value.status_code == 422
    assert refused.value.code == "not_an_arxiv_id"


def test_addresses_come_from_the_configured_base_and_the_id_alone() -> None:
    paper = ArxivId("1706.03762", 7)
    assert str(paper) == "1706.03762v7"
    assert paper.abs_url == "https://arxiv.org/abs/1706.03762v7"
    assert paper.eprint_url("http://mirror.local/") == "http://mirror.local/e-print/1706.03762v7"
    assert ArxivId("cs/0112017").pdf_url("https://arxiv.org") == (
        "https://arxiv.org/pdf/cs/0112017"
    )
