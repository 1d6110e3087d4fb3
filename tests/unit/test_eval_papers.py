"""Paper scenarios: their labels checked against the paper the extraction reads from their
LaTeX, and the metrics of what an explanation does with the paper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.evals.metrics import paper_explain_scores
from service.evals.paper_metrics import cites_equation, uses_definition
from service.evals.runner import Answer, Outcome
from service.evals.scenarios import PaperScenario, ScenarioError, load_file, load_scenarios

SCENARIOS = Path(__file__).parents[2] / "bench" / "evals" / "scenarios"

LATEX = r"""\documentclass{article}
\title{Attention Is All You Need}
\begin{document}
\section{Introduction}
We propose the Transformer.

\section{Attention}
The input consists of queries and keys of dimension $d_k$, where $d_k$ is the dimension
of the keys and $d_v$ is the dimension of the values.

\subsection{Scaled Dot-Product Attention}
We compute the dot products of the query with all keys and divide each by $\sqrt{d_k}$:
\begin{equation}
  \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V
\end{equation}
The softmax then gives the weights on the values.
\end{document}
"""

PAPER: dict[str, Any] = {
    "id": "paper-scaling",
    "kind": "paper",
    "title": "Eq. (1) picked after §2 defined d_k",
    "source": "Attention Is All You Need, §3.2.1",
    "paper": "Attention Is All You Need",
    "level": "rigorous",
    "latex": LATEX,
    "pick": {"section": "2.1", "starts": "We compute the dot products", "blocks": 2},
    "notation": ["d_k", "QK^T"],
    "key_terms": ["softmax", "dot product"],
    "defined_symbols": {"d_k": "dimension of the keys"},
    "equations": ["(1)"],
}


def _written(tmp_path: Path, scenario: dict[str, Any], folder: str = "paper") -> Path:
    directory = tmp_path / folder
    directory.mkdir(exist_ok=True)
    path = directory / f"{scenario['id']}.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def test_the_shipped_paper_scenarios_load_with_a_symbol_and_an_equation_each() -> None:
    papers = [s for c, s in load_scenarios(SCENARIOS, only="paper") if c == "paper"]
    assert len(papers) >= 4
    for scenario in papers:
        assert isinstance(scenario, PaperScenario)
        assert scenario.defined_symbols
        assert scenario.equations
        # The passage is the paper's blocks, numbers included, as the learner sends it.
        assert all(label in scenario.passage for label in scenario.equations)


def test_the_pick_is_the_papers_blocks_with_equations_as_latex_and_number(
    tmp_path: Path,
) -> None:
    scenario = load_file(_written(tmp_path, PAPER))
    assert isinstance(scenario, PaperScenario)
    picked = scenario.picked()
    # Introduction (1 block), §2 (1 block), then §2.1's first two.
    assert (picked.first_block, picked.last_block) == (2, 3)
    assert picked.text.startswith("We compute the dot products")
    assert picked.text.endswith(r"\right)V$$ (1)")
    assert [(s.symbol, s.definition) for s in picked.document.symbols] == [
        ("d_k", "the dimension of the keys"),
        ("d_v", "the dimension of the values"),
    ]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        # d_v is defined before the passage, but the passage never uses it.
        ({"defined_symbols": {"d_v": "dimension of the values"}}, "not defined before"),
        ({"defined_symbols": {"d_k": "size of the keys"}}, "not words of the paper's"),
        ({"equations": ["(2)"]}, r"no equation \(2\)"),
        ({"pick": {"section": "4"}}, "no section '4'"),
        ({"pick": {"section": "2.1", "starts": "Nowhere"}}, "no 1 block"),
        ({"pick": {"section": "2.1", "blocks": 4}}, "no 4 block"),
        ({"notation": ["d_k", "W^Q"]}, r"notation \['W\^Q'\]"),
    ],
)
def test_labels_the_paper_does_not_back_are_refused(
    tmp_path: Path, change: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(ScenarioError, match=refusal):
        load_file(_written(tmp_path, PAPER | change))


def test_a_paper_scenario_belongs_in_the_paper_folder(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="goes in paper/"):
        load_file(_written(tmp_path, PAPER, folder="explain"))


def test_definition_words_are_matched_singular_or_plural() -> None:
    assert uses_definition("d_k is the keys' dimension", "dimension of the keys")
    assert uses_definition("the query dimension", "dimension of the queries")
    assert not uses_definition("the dimension of the values", "dimension of the keys")
    assert not uses_definition("the preferred one", "dispreferred completion")
    assert not uses_definition("anything", "of the")


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ("As Eq. (1) shows", True),
        ("equation 1 divides", True),
        ("In (1), the scores", True),
        ("eq.1 and eq. 2", True),
        ("Eq. 11 is another", False),
        ("Eq. 1.5 is another", False),
        ("one, 1, is no citation", False),
    ],
)
def test_an_equation_is_cited_by_its_number(text: str, cited: bool) -> None:
    assert cites_equation(text, "(1)") is cited


def test_paper_scores_on_hand_written_answers(tmp_path: Path) -> None:
    scenario = load_file(_written(tmp_path, PAPER))
    assert isinstance(scenario, PaperScenario)
    good = (
        "In Eq. (1), $d_k$ is the dimension of the keys: each dot product in $QK^T$ sums "
        "$d_k$ terms, so the softmax gets scores scaled down."
    )
    scores = paper_explain_scores(scenario, _outcome(good))
    assert scores["paper_symbols_defined"] == 1.0
    assert scores["equation_cited"] == 1.0
    assert scores["notation_reused"] == 1.0
    assert scores["key_terms"] == 1.0
    bare = "The scores are made smaller so the softmax is not peaked."
    scores = paper_explain_scores(scenario, _outcome(bare))
    assert (scores["paper_symbols_defined"], scores["equation_cited"]) == (0.0, 0.0)
    no_equation = load_file(_written(tmp_path, PAPER | {"equations": []}))
    assert isinstance(no_equation, PaperScenario)
    assert paper_explain_scores(no_equation, _outcome(good))["equation_cited"] is None
    failed = Outcome("paper-scaling", "paper", "paper", [Answer("", "failed", "llm_error")])
    assert paper_explain_scores(scenario, failed) == {"answered": 0.0}


def _outcome(text: str) -> Outcome:
    return Outcome("paper-scaling", "paper", "paper", [Answer(text, "complete")])
