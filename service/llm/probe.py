"""Asking a model server how large its context is, in each of the ways servers say it.

Nothing in the Chat Completions API tells the context size, yet local servers run with
4k–32k and refuse (or, Ollama, silently cut) a prompt that does not fit. Each server
kind has its own place for it:

- llama.cpp: `GET /props` → `default_generation_settings.n_ctx` (per slot);
- vLLM (and OpenRouter, LM Studio's list): `GET /v1/models` → the model's
  `max_model_len` (`context_length`);
- Ollama: `GET /api/ps` → `context_length` of the loaded model, else `POST /api/show`
  → `num_ctx` in its parameters, else Ollama's smallest default, 4096;
- LM Studio: `GET /api/v0/models/{model}` → `loaded_context_length`.

A server that is not of a kind answers its question with 404, and the next is asked.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import quote

import httpx2
import openai
from openai import AsyncOpenAI

from service.llm.endpoint import ContextSize

# Ollama sizes the context when it loads a model, 4096 tokens on a machine with less
# than 24 GiB of video memory; before that, nothing says more.
OLLAMA_SMALLEST_DEFAULT = 4096
_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.M)
_LENGTH_KEYS = ("max_model_len", "context_length", "loaded_context_length", "max_context_length")


class Unreachable(Exception):
    """The server did not answer at all: nothing can be learnt now."""


async def read_context(client: AsyncOpenAI, model: str, *, seconds: float) -> ContextSize | None:
    """The context the server says it has, or None where it says nothing."""
    root = _server_root(str(client.base_url))
    for reader in (_llama_cpp, _models_list, _ollama, _lm_studio):
        try:
            found = await reader(client, root, model, seconds)
        except openai.APIConnectionError as exc:  # timeouts included
            raise Unreachable(str(exc)) from exc
        except (openai.APIStatusError, ValueError, TypeError, KeyError):
            continue  # not this kind of server, or not a body we understand
        if found is not None:
            return found
    return None


def _server_root(base_url: str) -> str:
    """`http://host:8080/v1/` → `http://host:8080`: the native APIs live at the root."""
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


async def _get(client: AsyncOpenAI, url: str, seconds: float) -> Any:
    options: Any = {"timeout": seconds, "max_retries": 0}
    response = await client.get(url, cast_to=httpx2.Response, options=options)
    return response.json()


async def _llama_cpp(
    client: AsyncOpenAI, root: str, model: str, seconds: float
) -> ContextSize | None:
    props = await _get(client, f"{root}/props", seconds)
    settings = props.get("default_generation_settings") or {}
    n_ctx = settings.get("n_ctx") or props.get("n_ctx")
    return ContextSize(n_ctx, "llama.cpp /props") if _positive(n_ctx) else None


async def _models_list(
    client: AsyncOpenAI, root: str, model: str, seconds: float
) -> ContextSize | None:
    listing = await _get(client, f"{str(client.base_url).rstrip('/')}/models", seconds)
    for entry in listing.get("data") or ():
        if isinstance(entry, dict) and entry.get("id") == model:
            for key in _LENGTH_KEYS:
                if _positive(entry.get(key)):
                    return ContextSize(entry[key], f"/v1/models {key}")
    return None


async def _ollama(client: AsyncOpenAI, root: str, model: str, seconds: float) -> ContextSize | None:
    with contextlib.suppress(openai.APIStatusError):  # older Ollama: no /api/ps
        running = await _get(client, f"{root}/api/ps", seconds)
        for entry in running.get("models") or ():
            names = {entry.get("name"), entry.get("model")}
            if (model in names or f"{model}:latest" in names) and _positive(
                entry.get("context_length")
            ):
                return ContextSize(entry["context_length"], "Ollama /api/ps")
    options: Any = {"timeout": seconds, "max_retries": 0}
    shown = await client.post(
        f"{root}/api/show", cast_to=httpx2.Response, body={"model": model}, options=options
    )
    match = _NUM_CTX.search(shown.json().get("parameters") or "")
    if match:
        return ContextSize(int(match.group(1)), "Ollama /api/show num_ctx")
    return ContextSize(OLLAMA_SMALLEST_DEFAULT, "Ollama's default (the model is not loaded yet)")


async def _lm_studio(
    client: AsyncOpenAI, root: str, model: str, seconds: float
) -> ContextSize | None:
    entry = await _get(client, f"{root}/api/v0/models/{quote(model, safe='')}", seconds)
    for key in ("loaded_context_length", "max_context_length"):
        if _positive(entry.get(key)):
            return ContextSize(entry[key], f"LM Studio {key}")
    return None


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
