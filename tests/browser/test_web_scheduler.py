"""The learner's scheduler in the browser: choosing SM-2 or FSRS and the desired retention
in Settings, the review page following the choice, and on the Stats page "your own
history as the judge": each scheduler's score on the learner's reviews, and fitting FSRS.

Months of reviews are written straight into the server's database (browsing.py), from
the simulated learner of tests/synthetic_reviews.py, as
tests/api/reviews/test_scheduler_stats.py does.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from browsing import UNNAMED_CONTROLS, Server, store_histories
from playwright.sync_api import Locator, Page, Route, expect

from synthetic_reviews import simulate_histories

# 754 scored reviews: enough to fit FSRS (512), and a fit of a few seconds.
FITTABLE = {"cards": 120, "days": 150, "seed": 11}
# 73 scored reviews: scores to show, too few to fit.
SHORT = {"cards": 20, "days": 40, "seed": 1}
FIT_SECONDS = 120  # ~5–30 s on a loaded machine; the page is followed until it ends


@pytest.fixture
def learner_id(api: httpx.Client) -> str:
    learner_id: str = api.get("me").json()["id"]
    return learner_id


def _with_history(server: Server, learner_id: str, history: dict[str, int]) -> None:
    store_histories(server, learner_id, simulate_histories(**history))


def _card(api: httpx.Client, front: str) -> dict[str, Any]:
    response = api.post("cards", json={"front": front, "back": "an answer"})
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


def _open(page: Page, server: Server, path: str, heading: str) -> None:
    page.goto(f"{server.url}#/{path}")
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


def _scheduler_form(page: Page) -> Locator:
    return page.get_by_role("form", name="Scheduler")


def _save(page: Page) -> None:
    _scheduler_form(page).get_by_role("button", name="Save scheduler").click()


def _saved(page: Page) -> Locator:
    return _scheduler_form(page).get_by_role("status")


def _grade_buttons(page: Page) -> Locator:
    return page.get_by_role("group", name="How well did you remember it?").get_by_role("button")


def _reveal(page: Page, server: Server) -> None:
    _open(page, server, "review", "Review")
    page.get_by_role("button", name="Show answer").click()


def _panel(page: Page) -> Locator:
    return page.get_by_role("region", name="Which scheduler predicts you best")


def _scores(page: Page) -> Locator:
    return _panel(page).get_by_role("table", name="Scores on your reviews")


def _row(page: Page, label: str) -> Locator:
    return (
        _scores(page)
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=re.compile(f"^{re.escape(label)}")))
    )


def _percent(fraction: float) -> str:
    """As the page's Intl.NumberFormat writes it in English: 88.9%, 89%."""
    return f"{100 * fraction:.1f}".removesuffix(".0") + "%"


def test_switching_to_fsrs_and_back_changes_the_review_buttons(
    page: Page, server: Server, api: httpx.Client
) -> None:
    reviewed = _card(api, "What does the value head of PPO predict?")
    assert api.post("reviews", json={"card_id": reviewed["id"], "grade": 4}).status_code == 201
    _card(api, "What does the reference model anchor?")  # new: in today's queue

    _open(page, server, "settings", "Settings")
    form = _scheduler_form(page)
    sm2, fsrs = form.get_by_role("radio", name="SM-2"), form.get_by_role("radio", name="FSRS")
    retention = form.get_by_label("Desired retention")
    expect(sm2).to_be_checked()
    expect(sm2).to_have_accessible_description(re.compile("grade each card 0–5"))
    expect(fsrs).to_have_accessible_description(re.compile("Again, Hard, Good or Easy"))
    expect(retention).to_have_value("0.90")
    expect(retention).to_be_disabled()  # SM-2 has no use for it
    expect(retention).to_have_accessible_description(re.compile("Used by FSRS only"))

    fsrs.check()
    expect(retention).to_be_enabled()
    expect(retention).to_have_accessible_description(re.compile("higher = more reviews"))
    retention.fill("0.85")
    expect(form.get_by_text("= 85%")).to_be_visible()
    _save(page)
    expect(_saved(page)).to_have_text(
        "Saved: FSRS plans your reviews now. "
        "2 cards rescheduled from their review history, which is unchanged."
    )
    settings = api.get("me/scheduler").json()
    assert (settings["scheduler"], settings["desired_retention"]) == ("fsrs", 0.85)
    assert len(api.get(f"cards/{reviewed['id']}/reviews").json()["items"]) == 1

    _reveal(page, server)
    expect(_grade_buttons(page)).to_have_count(4)
    expect(page.get_by_role("button", name="3 Good, recalled after a moment")).to_be_visible()
    expect(page.get_by_role("region", name="Keyboard shortcuts")).to_contain_text("1–4")

    _open(page, server, "settings", "Settings")
    _scheduler_form(page).get_by_role("radio", name="SM-2").check()
    expect(_scheduler_form(page).get_by_label("Desired retention")).to_be_disabled()
    _save(page)
    expect(_saved(page)).to_contain_text("Saved: SM-2 plans your reviews now.")
    assert api.get("me/scheduler").json()["scheduler"] == "sm2"

    _reveal(page, server)
    expect(_grade_buttons(page)).to_have_count(6)
    expect(page.get_by_role("button", name="5 Perfect, at once, sure of it")).to_be_visible()


def test_a_retention_out_of_range_is_explained_next_to_the_field(
    page: Page, server: Server, api: httpx.Client
) -> None:
    assert api.patch("me/scheduler", json={"scheduler": "fsrs"}).status_code == 200
    _open(page, server, "settings", "Settings")
    retention = _scheduler_form(page).get_by_label("Desired retention")
    expect(retention).to_be_enabled()
    retention.fill("0.5")
    _save(page)
    expect(retention).to_have_attribute("aria-invalid", "true")
    expect(retention).to_have_accessible_description(re.compile(r"0\.7"))
    expect(retention).to_have_accessible_description(re.compile("70% to 99%"))
    expect(retention).to_be_focused()
    expect(retention).to_have_value("0.5")  # what was typed stays
    assert api.get("me/scheduler").json()["desired_retention"] == 0.9

    retention.fill("0.95")
    _save(page)
    expect(_saved(page)).to_contain_text("Saved.")
    expect(retention).not_to_have_attribute("aria-invalid", "true")
    assert api.get("me/scheduler").json()["desired_retention"] == 0.95


def test_fitted_parameters_can_go_back_to_the_defaults(
    page: Page, server: Server, api: httpx.Client
) -> None:
    defaults = api.get("me/scheduler").json()["fsrs_parameters"]
    fitted = [*defaults[:8], defaults[8] + 0.3, *defaults[9:]]
    changed = api.patch("me/scheduler", json={"scheduler": "fsrs", "fsrs_parameters": fitted})
    assert changed.status_code == 200, changed.text
    _open(page, server, "settings", "Settings")
    form = _scheduler_form(page)
    expect(form.get_by_text("FSRS uses parameters fitted to your own reviews.")).to_be_visible()

    form.get_by_role("button", name="Go back to default parameters").click()
    expect(_saved(page)).to_contain_text("Back to FSRS's default parameters.")
    expect(_saved(page)).to_contain_text("review history is unchanged")
    expect(form.get_by_role("button", name="Go back to default parameters")).to_have_count(0)
    expect(form.get_by_text("FSRS uses its default parameters.")).to_be_visible()
    settings = api.get("me/scheduler").json()
    assert settings["fsrs_parameters_fitted"] is False
    assert settings["fsrs_parameters"] == defaults


def test_a_review_history_shows_each_review_on_its_own_scale(
    page: Page, server: Server, api: httpx.Client
) -> None:
    card = _card(api, "What does a reward model output?")
    assert api.post("reviews", json={"card_id": card["id"], "grade": 3}).status_code == 201
    assert api.patch("me/scheduler", json={"scheduler": "fsrs"}).status_code == 200
    assert api.post("reviews", json={"card_id": card["id"], "rating": "good"}).status_code == 201
    _open(page, server, "cards", "Cards")
    page.get_by_role("button", name="History").click()
    history = page.get_by_role("list", name="Reviews, oldest first").get_by_role("listitem")
    expect(history.nth(0)).to_contain_text("grade 3 · hard")
    expect(history.nth(1)).to_contain_text("rated Good (FSRS)")


def test_a_new_learner_sees_that_nothing_is_scored_yet(page: Page, server: Server) -> None:
    _open(page, server, "stats", "Stats")
    panel = _panel(page)
    expect(panel.get_by_text("Nothing scored yet: no reviews so far.")).to_be_visible()
    expect(panel.get_by_role("table")).to_have_count(0)
    fit = panel.get_by_role("button", name="Fit FSRS to my reviews")
    expect(fit).to_be_disabled()
    expect(fit).to_have_accessible_description(re.compile(r"you have 0: it needs 512 more"))


def test_the_scores_of_a_learner_with_a_history(
    page: Page, server: Server, api: httpx.Client, learner_id: str
) -> None:
    _with_history(server, learner_id, SHORT)
    body = api.get("stats/scheduler").json()
    scores = {score["scheduler"]: score for score in body["scores"]}
    assert body["best"] == "fsrs_default"

    _open(page, server, "stats", "Stats")
    panel = _panel(page)
    expect(panel).to_contain_text("lower is better")
    table = _scores(page)
    scored = scores["sm2"]["reviews"]
    counts = f"{body['reviews']} reviews of {body['cards']} cards; {scored} scored, each made"
    expect(panel.get_by_text(counts)).to_be_visible()
    expect(table.get_by_role("columnheader")).to_have_text(
        [
            "Scheduler",
            "Reviews scored",
            "Log loss",
            "RMSE (bins)",
            "Predicted recall",
            "Actual recall",
        ]
    )
    expect(table.get_by_role("row")).to_have_count(3)
    sm2, fsrs = _row(page, "SM-2"), _row(page, "FSRS, default parameters")
    expect(sm2.get_by_role("rowheader")).to_have_text("SM-2 in use")  # the mark is words
    expect(fsrs.get_by_role("rowheader")).to_have_text("FSRS, default parameters best")
    expect(fsrs.get_by_role("cell")).to_have_text(
        [
            str(scores["fsrs_default"]["reviews"]),
            f"{scores['fsrs_default']['log_loss']:.3f}",
            f"{scores['fsrs_default']['rmse_bins']:.3f}",
            _percent(scores["fsrs_default"]["mean_predicted"]),
            _percent(scores["fsrs_default"]["mean_recalled"]),
        ]
    )
    expect(sm2.get_by_role("cell").nth(1)).to_have_text(f"{scores['sm2']['log_loss']:.3f}")

    fit = panel.get_by_role("button", name="Fit FSRS to my reviews")
    expect(fit).to_be_disabled()
    more = body["fit_needs"] - body["fit_has"]
    expect(panel.get_by_text(f"it needs {more} more")).to_be_visible()
    expect(fit).to_have_accessible_description(re.compile(f"needs {more} more"))


def test_fitting_fsrs_shows_its_progress_then_the_fitted_row(
    page: Page, server: Server, api: httpx.Client, learner_id: str
) -> None:
    _with_history(server, learner_id, FITTABLE)
    _open(page, server, "stats", "Stats")
    panel = _panel(page)
    expect(_row(page, "SM-2")).to_be_visible()
    expect(_row(page, "FSRS, fitted to your reviews")).to_have_count(0)
    expect(panel.get_by_text(re.compile(r"FSRS can learn from \d+ scored reviews"))).to_be_visible()

    panel.get_by_role("button", name="Fit FSRS to my reviews").click()
    progress = panel.locator(".fit-progress")
    expect(progress).to_have_attribute("role", "status")
    expect(progress).to_contain_text(re.compile(r"Fitting FSRS to \d+ of your reviews"))
    expect(progress).to_contain_text(re.compile(r"so far, about \d+ seconds expected"))
    expect(progress.get_by_role("progressbar", name="Fitting FSRS")).not_to_have_attribute(
        "value", re.compile(".")
    )  # indeterminate: no value
    expect(panel.get_by_role("button", name="Fit FSRS to my reviews")).to_be_disabled()

    outcome = panel.locator(".fit-outcome")
    expect(outcome).to_contain_text(
        "FSRS now uses parameters fitted to your reviews", timeout=FIT_SECONDS * 1000
    )
    expect(outcome).to_contain_text("choose FSRS in Settings")  # this learner is on SM-2
    expect(progress).to_have_count(0)
    fitted = _row(page, "FSRS, fitted to your reviews")
    expect(fitted).to_be_visible()
    expect(fitted.get_by_role("rowheader")).to_contain_text("best")
    expect(panel.get_by_role("button", name="Fit FSRS to my reviews")).to_be_enabled()
    job = api.get("me/fsrs/optimize").json()
    assert (job["status"], job["applied"]) == ("done", True)
    assert api.get("me/scheduler").json()["fsrs_parameters_fitted"] is True


def test_a_fit_started_elsewhere_is_followed_and_leaving_stops_the_polling(
    page: Page, server: Server, api: httpx.Client, learner_id: str
) -> None:
    _with_history(server, learner_id, FITTABLE)
    assert api.post("me/fsrs/optimize").status_code == 202
    polls: list[str] = []
    page.on(
        "request",
        lambda request: polls.append(request.url) if "fsrs/optimize" in request.url else None,
    )
    _open(page, server, "stats", "Stats")
    progress = _panel(page).locator(".fit-progress")
    expect(progress).to_contain_text(re.compile(r"Fitting FSRS to \d+ of your reviews"))
    expect(_panel(page).get_by_role("button", name="Fit FSRS to my reviews")).to_be_disabled()
    page.wait_for_timeout(2000)  # at least one poll
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    seen = len(polls)
    assert seen >= 2, polls  # the page's first look, then a poll
    page.wait_for_timeout(3500)
    assert len(polls) == seen  # no polling from a page that is gone


def test_a_fit_that_fails_says_why_in_the_error_box(
    page: Page, server: Server, api: httpx.Client, learner_id: str
) -> None:
    # A fit's process dying is tests/api/reviews/test_scheduler_stats.py's business; here the page
    # gets what the API answers then (a running job, then a failed one), so no fit runs.
    _with_history(server, learner_id, FITTABLE)
    job = {
        "id": "8a3c1d9e-0000-4000-8000-000000000001",
        "status": "running",
        "stage": "Fitting FSRS to 754 of your reviews",
        "reviews": 754,
        "estimated_seconds": 8.0,
        "created_at": datetime.now(UTC).isoformat(),
        "finished_at": None,
        "applied": False,
        "log_loss_before": None,
        "log_loss_after": None,
        "parameters": None,
        "message": None,
    }
    failed = job | {
        "status": "failed",
        "stage": "Failed",
        "finished_at": datetime.now(UTC).isoformat(),
        "message": "The fit failed: the fitting process exited with -9: no message",
    }

    def answer(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=202, content_type="application/json", body=json.dumps(job))
        else:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(failed))

    _open(page, server, "stats", "Stats")
    fit = _panel(page).get_by_role("button", name="Fit FSRS to my reviews")
    expect(fit).to_be_enabled()
    page.route("**/v1/me/fsrs/optimize", answer)
    fit.click()
    alert = _panel(page).get_by_role("alert")
    expect(alert).to_have_text("The fit failed: the fitting process exited with -9: no message")
    expect(alert).to_be_focused()  # the button the learner pressed was disabled meanwhile
    expect(_panel(page).locator(".fit-progress")).to_have_count(0)
    expect(fit).to_be_enabled()  # it may start again
    expect(_row(page, "FSRS, fitted to your reviews")).to_have_count(0)


@pytest.mark.parametrize("path", ["review", "settings", "stats"])
def test_a_phone_wide_fsrs_learner_has_named_controls_and_no_sideways_scroll(
    page: Page, server: Server, api: httpx.Client, learner_id: str, path: str
) -> None:
    _with_history(server, learner_id, SHORT)
    assert api.patch("me/scheduler", json={"scheduler": "fsrs"}).status_code == 200
    page.set_viewport_size({"width": 375, "height": 740})
    _open(page, server, path, path.capitalize())
    if path == "review":
        page.get_by_role("button", name="Show answer").click()
        expect(_grade_buttons(page)).to_have_count(4)
    if path == "stats":
        expect(_scores(page)).to_be_visible()
    expect(page.locator("#view .loading")).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"#/{path} is {width} px wide at 375 px"
    assert page.evaluate(UNNAMED_CONTROLS) == []
    assert page.locator("#view [role=alert]").count() == 0, page.locator("#view").inner_text()
