"""The OpenAPI document is one a client can rely on: every operation named, summarised
and described, every error it can answer with documented with its codes, examples that
fit their schemas, and a document that validates.

What a route can raise is read off the code (`_Raised`): the route's function and its
dependencies, and every function of service/ they call, followed by name through the
modules that define them; each `raise` of a TutorError found on the way must be
documented for the operation, with its status and its code. What no name leads to (the
model behind its protocol, Redis behind the limits store, the database's faults, the
framework's validation) is checked by what the route is: one that calls the model
documents the model's failures, one with a body documents what a body can do wrong.
tests/api/core/test_openapi_answers.py checks real answers against the document.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import BaseModel, ValidationError

from service.app import create_app
from service.config import Settings
from service.dbfaults import Fault
from service.errors import TutorError
from service.limits.service import model_call_allowed
from service.openapi_docs import LIMITS, MODEL_FAILURES, TOO_MANY_STREAMS
from service.tutor.responding import stream_slot

SERVICE = Path(__file__).parents[3] / "service"
APP: FastAPI = create_app(Settings(database_url="sqlite://", _env_file=None))
OPENAPI: dict[str, Any] = APP.openapi()
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    route: APIRoute

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def codes(self, status: int) -> set[str]:
        """The `error.code` values documented for a status (its examples name them)."""
        response = self.spec["responses"].get(str(status), {})
        examples = response.get("content", {}).get("application/json", {}).get("examples", {})
        return {example["value"]["error"]["code"] for example in examples.values()}


def _operations() -> list[Operation]:
    routes = {}
    for context in iter_route_contexts(APP.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                routes[(method.lower(), context.path_format)] = route
    return [
        Operation(method, path, spec, routes[(method, path)])
        for path, methods in OPENAPI["paths"].items()
        for method, spec in methods.items()
        if method in HTTP_METHODS
    ]


OPERATIONS = _operations()
BY_ID = {str(operation): operation for operation in OPERATIONS}


def test_the_document_is_valid_openapi() -> None:
    validate(OPENAPI)  # raises on any violation of the OpenAPI 3.1 schema
    assert OPENAPI["openapi"].startswith("3.1")
    assert len(OPERATIONS) >= 50


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_every_operation_is_named_summarised_and_described(operation: Operation) -> None:
    spec = operation.spec
    assert CAMEL_CASE.match(spec["operationId"]), spec["operationId"]
    assert len(spec["operationId"]) <= 30
    assert spec["summary"].strip()
    assert len(spec["summary"]) <= 60
    assert not spec["summary"].endswith(".")
    assert len(spec["description"].strip()) >= 20
    assert spec["tags"]


def test_operation_ids_are_unique_and_those_clients_know_stay() -> None:
    ids = [operation.spec["operationId"] for operation in OPERATIONS]
    assert len(ids) == len(set(ids))
    # Generated clients name their functions after these: renaming one breaks them.
    assert {
        "getMe",
        "explainPassage",
        "askFollowUp",
        "retryAnswer",
        "critiqueExplanation",
        "listDueCards",
        "gradeCard",
        "exportAnki",
    } <= set(ids)


def test_every_tag_is_described() -> None:
    described = {tag["name"] for tag in OPENAPI["tags"] if tag.get("description")}
    assert {tag for operation in OPERATIONS for tag in operation.spec["tags"]} <= described


# --- errors: the shape ----------------------------------------------------------------


def _error_responses() -> Iterator[tuple[Operation, int, dict[str, Any]]]:
    for operation in OPERATIONS:
        for status, response in operation.spec["responses"].items():
            if int(status) >= 400:
                yield operation, int(status), response


def test_every_error_response_is_the_shared_shape_with_its_codes() -> None:
    for operation, status, response in _error_responses():
        where = f"{operation} {status}"
        content = response["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, where
        codes = operation.codes(status)
        assert codes, f"{where}: no error.code documented"
        for code in codes:
            assert f"`{code}`" in response["description"], where


def test_no_framework_validation_shape_is_left() -> None:
    # FastAPI documents its own 422 body unless told otherwise; Tutor never sends it.
    assert "HTTPValidationError" not in OPENAPI["components"]["schemas"]


def _tutor_errors() -> set[type[TutorError]]:
    found: set[type[TutorError]] = set()
    pending = list(TutorError.__subclasses__())
    while pending:
        error = pending.pop()
        found.add(error)
        pending.extend(error.__subclasses__())
    return found


@cache
def _string_literals_in_service() -> set[str]:
    """Every string literal in service/, but those a documentation of a refusal gives:
    a code found here is one the service really sends."""
    found: set[str] = set()
    for path in SERVICE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        documented = {
            id(argument)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Refusal"
            for argument in node.args
        }
        found |= {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in documented
        }
    return found


def test_every_documented_code_is_one_the_service_sends_with_that_status() -> None:
    statuses_of: dict[str, set[int]] = {}
    for error in _tutor_errors():
        statuses_of.setdefault(error.code, set()).add(error.status_code)
    for operation, status, _ in _error_responses():
        for code in operation.codes(status):
            assert code in _string_literals_in_service(), f"{operation}: {code} is never sent"
            if code in statuses_of and code != "bad_request":  # TutorError's own default
                assert status in statuses_of[code], f"{operation}: {code} is not a {status}"


# --- errors: what each route can raise --------------------------------------------------


class _Instance:
    """A value of a known class (a parameter's annotation says which)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls


def _class_of(annotation: Any) -> type | None:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        classes = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        annotation = classes[0] if len(classes) == 1 else None
    return annotation if isinstance(annotation, type) else None


def _in_service(thing: object) -> bool:
    return str(getattr(thing, "__module__", "")).startswith("service.")


def _constructed_here(thing: object) -> bool:
    """A class of the service's whose own __init__ runs when it is called (an error's
    does not count: raising it is what is looked for)."""
    return (
        isinstance(thing, type)
        and _in_service(thing)
        and "__init__" in vars(thing)
        and not issubclass(thing, TutorError)
    )


Found = tuple[type[TutorError], str | None]  # the error, and its code (None: not literal)


class _Raised:
    """The TutorErrors a function can raise, through the service functions it calls."""

    def __init__(self) -> None:
        self._done: dict[object, set[Found]] = {}

    def of_route(self, route: APIRoute) -> set[Found]:
        found = self.of(route.endpoint)
        for call in _dependencies(route.dependant):
            if isinstance(call, type):  # a class: the endpoint calls its methods
                for member in vars(call).values():
                    if inspect.isfunction(member):
                        found |= self.of(member, owner=call)
            else:
                found |= self.of(call)
        return found

    def of(self, function: Callable[..., Any], owner: type | None = None) -> set[Found]:
        function = inspect.unwrap(function)
        if function in self._done or not _in_service(function):
            return self._done.get(function, set())
        self._done[function] = set()  # a recursive call adds nothing new
        with contextlib.suppress(OSError, TypeError):
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
            self._done[function] = self._of_nodes(tree.body, _Scope(function, owner))
        return self._done[function]

    def _of_nodes(self, nodes: list[ast.stmt], scope: _Scope) -> set[Found]:
        found: set[Found] = set()
        for node in nodes:
            if isinstance(node, ast.Try):
                caught = tuple(scope.caught(handler.type) for handler in node.handlers)
                inner = self._of_nodes(node.body, scope)
                found |= {f for f in inner if not issubclass(f[0], caught)}
                for part in (*(h.body for h in node.handlers), node.orelse, node.finalbody):
                    found |= self._of_nodes(part, scope)
            elif isinstance(node, ast.With | ast.AsyncWith) and scope.suppressed(node):
                inner = self._of_nodes(node.body, scope)
                found |= {f for f in inner if not issubclass(f[0], scope.suppressed(node))}
            else:
                found |= self._of_expressions(node, scope)
        return found

    def _of_expressions(self, node: ast.stmt, scope: _Scope) -> set[Found]:
        found: set[Found] = set()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                found |= self._of_nodes([child], scope)
        for part in _own_expressions(node):
            if isinstance(part, ast.Raise) and part.exc is not None:
                found |= scope.raised(part.exc)
            if isinstance(part, ast.Call):
                for function, owner in scope.called(part):
                    found |= self.of(function, owner)
        return found


def _own_expressions(node: ast.stmt) -> Iterator[ast.AST]:
    """The node, and the expressions in it that no statement nested in it holds."""
    yield node
    pending: list[ast.AST] = [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.stmt)]
    while pending:
        part = pending.pop()
        yield part
        pending.extend(c for c in ast.iter_child_nodes(part) if not isinstance(c, ast.stmt))


class _Scope:
    """Names as a function sees them: its module's, and its parameters' classes."""

    def __init__(self, function: Callable[..., Any], owner: type | None) -> None:
        self.names: dict[str, Any] = dict(getattr(function, "__globals__", {}))
        try:
            hints = typing.get_type_hints(function, include_extras=True)
        except (NameError, TypeError):
            hints = {}
        self.classes = {name: _class_of(hint) for name, hint in hints.items()}
        if owner is not None:
            self.classes["self"] = self.classes["cls"] = owner

    def resolve(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            cls = self.classes.get(node.id)
            return _Instance(cls) if cls is not None else self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if isinstance(base, _Instance):
                return getattr(base.cls, node.attr, None)
            return getattr(base, node.attr, None) if base is not None else None
        return None

    def caught(self, node: ast.expr | None) -> type[BaseException]:
        caught = self.resolve(node) if node is not None else BaseException
        return caught if isinstance(caught, type) else _Nothing

    def suppressed(self, node: ast.With | ast.AsyncWith) -> tuple[type[BaseException], ...]:
        return tuple(
            self.caught(argument)
            for item in node.items
            if isinstance(item.context_expr, ast.Call)
            and self.resolve(item.context_expr.func) is contextlib.suppress
            for argument in item.context_expr.args
        )

    def raised(self, node: ast.expr) -> set[Found]:
        error = self.resolve(node.func if isinstance(node, ast.Call) else node)
        if isinstance(error, type) and issubclass(error, TutorError):
            return {(error, _code(error, node))}
        return set()

    def called(self, node: ast.Call) -> Iterator[tuple[Callable[..., Any], type | None]]:
        called = self.resolve(node.func)
        owner = None
        if isinstance(node.func, ast.Attribute):
            base = self.resolve(node.func.value)
            owner = base.cls if isinstance(base, _Instance) else None
        if inspect.isfunction(called) or inspect.ismethod(called):
            yield called, owner
        elif _constructed_here(called):
            yield vars(called)["__init__"], called
        # A function handed on (a callback, a partial's target) may be called too.
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            passed = self.resolve(argument)
            if inspect.isfunction(passed):
                yield passed, None


class _Nothing(Exception):
    """What an `except` the resolver cannot read catches: nothing it knows of."""


def _code(error: type[TutorError], node: ast.expr) -> str | None:
    """The code the error carries: its class's, or the literal given to one that takes
    its code when raised (TooManyTokens); None when that is not a literal."""
    parameters = list(inspect.signature(error.__init__).parameters)[1:]
    if "code" not in parameters:
        return error.code
    if not isinstance(node, ast.Call):
        return None
    given = {keyword.arg: keyword.value for keyword in node.keywords}
    given |= dict(zip(parameters, node.args, strict=False))
    code = given.get("code")
    return code.value if isinstance(code, ast.Constant) else None


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependencies(sub)


RAISED = _Raised()


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_every_error_a_route_can_raise_is_documented(operation: Operation) -> None:
    for error, code in RAISED.of_route(operation.route):
        status = error.status_code
        assert str(status) in operation.spec["responses"], f"{operation}: {error.__name__}"
        if code is not None:
            assert code in operation.codes(status), f"{operation}: {code} ({status})"


def test_the_reading_of_the_code_finds_what_it_should() -> None:
    # The reader above is the check's own premise: it must see through the layers.
    def raised(operation: str) -> set[str | None]:
        return {code for _, code in RAISED.of_route(BY_ID[operation].route)}

    assert {"not_due", "not_reviewable", "card_not_found"} <= raised("POST /v1/reviews")
    # Through the dependencies: the API key, the limits.
    assert {"unauthorized", "rate_limited", "too_many_streams", "session_busy"} <= raised(
        "POST /v1/sessions/{session_id}/explain"
    )
    # A literal code given when raised; a suppressed error left out.
    assert "prompt_too_long" in raised("POST /v1/sessions/{session_id}/critiques")
    assert "no_optimization" not in raised("POST /v1/me/fsrs/optimize")


def _depends_on(route: APIRoute, dependency: Callable[..., Any]) -> bool:
    return dependency in set(_dependencies(route.dependant))


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_every_route_documents_what_its_kind_of_request_can_meet(operation: Operation) -> None:
    spec, route = operation.spec, operation.route
    expected: set[tuple[int, str]] = set()
    if operation.path.startswith("/v1/"):
        expected |= {(401, "unauthorized")} | {(503, fault.value[0]) for fault in Fault}
    if spec.get("parameters") or "requestBody" in spec:
        expected.add((422, "validation_error"))
    if "application/json" in spec.get("requestBody", {}).get("content", {}):
        expected |= {(413, "body_too_large"), (422, "invalid_json")}
    if _depends_on(route, model_call_allowed):
        expected |= {(r.status, r.code) for r in (*LIMITS, *MODEL_FAILURES)}
    if _depends_on(route, stream_slot):
        expected.add((TOO_MANY_STREAMS.status, TOO_MANY_STREAMS.code))
    missing = {(s, c) for s, c in expected if c not in operation.codes(s)}
    assert not missing, f"{operation}: {sorted(missing)}"


# --- bodies: examples, binary downloads, the event stream -----------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = OPENAPI["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    # Formats checked too: a uuid is a uuid, a date-time has its offset.
    return Draft202012Validator(
        {**schema, "components": OPENAPI["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _has_examples(schema: dict[str, Any]) -> bool:
    schema = _resolve(schema)
    if "examples" in schema:
        return True
    if "anyOf" in schema:  # an optional body
        options = [option for option in schema["anyOf"] if option != {"type": "null"}]
        return all(_has_examples(option) for option in options)
    # A page of items (pagination's generic Page): the items show the example.
    items = schema.get("properties", {}).get("items", {}).get("items")
    return items is not None and _has_examples(items)


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_json_bodies_have_examples(operation: Operation) -> None:
    bodies = [operation.spec.get("requestBody", {}).get("content", {}).get("application/json")]
    bodies += [
        response.get("content", {}).get("application/json")
        for status, response in operation.spec["responses"].items()
        if status.startswith("2") and operation.path.startswith("/v1/")
    ]
    for body in filter(None, bodies):
        given = "example" in body or "examples" in body or _has_examples(body["schema"])
        assert given, f"{operation}: {body['schema']}"


def _examples(node: Any, schema: dict[str, Any] | None = None) -> Iterator[tuple[Any, Any]]:
    """(schema, example) for every example in the document, wherever it is."""
    if isinstance(node, dict):
        for example in node.get("examples", []) if "type" in node or "properties" in node else []:
            yield node, example
        if "schema" in node and isinstance(node.get("examples"), dict):
            for example in node["examples"].values():
                yield node["schema"], example["value"]
        if "schema" in node and "example" in node:
            yield node["schema"], node["example"]
        for value in node.values():
            yield from _examples(value)
    elif isinstance(node, list):
        for value in node:
            yield from _examples(value)


def test_every_example_fits_its_schema() -> None:
    checked = 0
    for schema, example in _examples(OPENAPI):
        errors = [e.message for e in _validator(schema).iter_errors(example)]
        assert not errors, (example, errors)
        checked += 1
    assert checked > 100


def test_the_anki_package_is_a_binary_download() -> None:
    response = BY_ID["GET /v1/export/anki"].spec["responses"]["200"]
    assert response["content"] == {
        "application/apkg": {"schema": {"type": "string", "format": "binary"}}
    }
    assert "Content-Disposition" in response["headers"]
    csv = BY_ID["GET /v1/export/csv"].spec["responses"]["200"]["content"]
    assert csv == {"text/csv": {"schema": {"type": "string"}}}


@pytest.mark.parametrize(
    "operation",
    [
        "POST /v1/sessions/{session_id}/explain",
        "POST /v1/sessions/{session_id}/messages",
        "POST /v1/sessions/{session_id}/messages/{message_id}/retry",
    ],
)
def test_answers_document_their_event_stream(operation: str) -> None:
    content = BY_ID[operation].spec["responses"]["200"]["content"]
    assert list(content) == ["application/json", "text/event-stream"]  # JSON first
    events = content["text/event-stream"]["schema"]["oneOf"]
    assert [event["properties"]["event"]["const"] for event in events] == [
        "delta",
        "done",
        "error",
    ]


# --- PATCH: null where the service takes it, and only there ---------------------------


def _patch_operations() -> list[Operation]:
    return [operation for operation in OPERATIONS if operation.method == "patch"]


def _body_model(route: APIRoute) -> type[BaseModel]:
    model = typing.get_type_hints(route.endpoint)["body"]
    assert issubclass(model, BaseModel)
    return model


def _takes_null(model: type[BaseModel], field: str) -> bool:
    try:
        model.model_validate({field: None})
    except ValidationError as error:
        return not any(e["loc"] == (field,) for e in error.errors())
    return True


@pytest.mark.parametrize("operation", _patch_operations(), ids=str)
def test_patch_fields_are_nullable_exactly_when_null_is_taken(operation: Operation) -> None:
    schema = _resolve(operation.spec["requestBody"]["content"]["application/json"]["schema"])
    model = _body_model(operation.route)
    null = _validator({"type": "null"})
    for field, property_schema in schema["properties"].items():
        documented = _validator(property_schema).is_valid(None)
        assert documented == _takes_null(model, field), f"{operation}: {field}"
        assert null.is_valid(None)


def test_some_patch_fields_do_take_null() -> None:
    # A check of the check: the rule above would pass if no field took null at all.
    taking = {
        (str(operation), field)
        for operation in _patch_operations()
        for field in _resolve(
            operation.spec["requestBody"]["content"]["application/json"]["schema"]
        )["properties"]
        if _takes_null(_body_model(operation.route), field)
    }
    assert ("PATCH /v1/sessions/{session_id}", "title") in taking
    assert ("PATCH /v1/me", "webhook_url") in taking
    assert ("PATCH /v1/sources/{source_id}", "title") not in taking
