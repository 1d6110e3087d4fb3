"""A web address a learner gives: a source's link, a reminder webhook."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, HttpUrl, StringConstraints, TypeAdapter

_http_url = TypeAdapter(HttpUrl)


def check_http_url(url: str) -> str:
    """Only http and https; the text is kept as written (no added slash, no re-encoding)."""
    _http_url.validate_python(url)
    return url


Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2048), AfterValidator(check_http_url)
]
