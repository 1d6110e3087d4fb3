"""The body limit of a path with parameters (a paper's upload, `/v1/sources/{source_id}/
document`): each parameter matches one segment, and every other path keeps its limit."""

from __future__ import annotations

import pytest

from service.body_limit import DEFAULT_MAX_BODY_BYTES, BodySizeLimitMiddleware

UPLOAD = 50 * 1024 * 1024


async def _app(scope: object, receive: object, send: object) -> None:  # never called
    raise AssertionError


LIMITS = BodySizeLimitMiddleware(
    _app,  # type: ignore[arg-type]
    per_path={"/v1/import/csv": 5, "/v1/sources/{source_id}/document": UPLOAD},
)


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/v1/sources/3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b/document", UPLOAD),
        ("/v1/sources/anything/document", UPLOAD),
        ("/v1/import/csv", 5),
        # Not the upload: another segment, an operation below it, a prefix of it.
        ("/v1/sources/a/b/document", DEFAULT_MAX_BODY_BYTES),
        ("/v1/sources//document", DEFAULT_MAX_BODY_BYTES),
        ("/v1/sources/a/document/extract", DEFAULT_MAX_BODY_BYTES),
        ("/v1/sources/a/documents", DEFAULT_MAX_BODY_BYTES),
        ("/x/v1/sources/a/document", DEFAULT_MAX_BODY_BYTES),
        ("/v1/sources", DEFAULT_MAX_BODY_BYTES),
    ],
)
def test_a_path_gets_the_limit_of_the_template_it_fills(path: str, limit: int) -> None:
    assert LIMITS.limit_for(path) == limit
