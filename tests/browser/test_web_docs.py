"""/docs in the browser: Swagger UI works from this server's files alone, under its CSP.

Chromium here has no internet access, like many a self-hosted Tutor: a page that loaded
its script from a CDN stayed blank. Every request the page makes is recorded, and any
that would leave the server is refused, so a CDN dependency fails the test rather than
passing where a network happens to be.
"""

from __future__ import annotations

from browsing import Learner, Server
from playwright.sync_api import Page, Route, expect


def test_docs_work_offline_under_their_content_security_policy(
    page: Page, server: Server, learner: Learner
) -> None:
    elsewhere: list[str] = []
    refused: list[str] = []

    def same_origin_only(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", same_origin_only)
    page.on(
        "console",
        lambda message: refused.append(message.text) if message.type == "error" else None,
    )
    response = page.goto(f"{server.url}docs")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]

    # Sign in with the key and call GET /v1/me: the page's requests go to this server.
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").fill(learner.key)
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.get_by_role("button", name="Close").click()
    operation = page.locator("#operations-learner-getMe")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table .response")
    expect(answer.locator(".response-col_status")).to_contain_text("200")
    expect(answer).to_contain_text(learner.name)

    assert elsewhere == []
    assert refused == []  # a CSP violation is reported on the console as an error
