"""FastAPI's OpenAPI document, made right for client generators.

Client generators read examples as they are, and FastAPI's document drops the nulls of
examples (a message's `error: null`), so they miss required fields. And for its readers,
each operation's responses come in the order of their statuses.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


def tidy_document(app: FastAPI) -> None:
    """Correct what FastAPI does to `app`'s document, on each build of it."""
    build = app.openapi
    tidied: list[dict[str, Any]] = []  # the document last tidied (FastAPI keeps it)

    def openapi() -> dict[str, Any]:
        document = build()
        if not tidied or tidied[0] is not document:
            schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
            _restore_examples(schemas)
            _sort_responses(document)
            tidied[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to extend it


def _sort_responses(document: dict[str, Any]) -> None:
    """Each operation's responses in the order of their statuses: FastAPI puts the ones
    every route shares first."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if responses:
                operation["responses"] = dict(sorted(responses.items()))


def _restore_examples(schemas: dict[str, Any]) -> None:
    """FastAPI leaves every null out of the document, the nulls of examples too, which
    then miss required fields (a message's `error: null`): they are put back from the
    models the components were made of."""
    models = _service_models()
    for name, schema in schemas.items():
        model = models.get(name)
        if model is not None and "examples" in schema:
            schema["examples"] = model.model_json_schema()["examples"]


def _service_models() -> dict[str, type[BaseModel]]:
    """The service's models by the names pydantic gives their schemas: the class's, or
    with its module for two classes of one name."""
    found: dict[str, type[BaseModel]] = {}
    shared: set[str] = set()  # names of two classes: only the long names are theirs
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if not model.__module__.startswith("service."):
            continue
        if found.get(model.__name__, model) is not model:
            shared.add(model.__name__)
        found[model.__name__] = model
        found[f"{model.__module__}.{model.__name__}".replace(".", "__")] = model
    return {name: model for name, model in found.items() if name not in shared}
