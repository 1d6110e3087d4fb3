// Today's reviews, one card at a time. The server schedules (SM-2 or FSRS, the learner's
// choice) and orders the queue; this page only shows it, sends grades on the scale of the
// learner's scheduler and asks again after each one.
import { api } from "../lib/api.js";
import { updateDueBadge } from "../lib/badge.js";
import { fill, h } from "../lib/dom.js";
import { announce, errorBox } from "../lib/ui.js";
import { cardView, gradeButtons, reviewWords, scaleOf, sittingSummary, waitingSummary } from "./reviewcard.js";

const MAX_DURATION_MS = 86_400_000; // the API's limit for duration_ms

export async function render(view, { signal }) {
  const [queue, settings] = await Promise.all([
    api.get("reviews/queue", { signal }),
    api.get("me/scheduler", { signal }),
  ]);
  const scale = scaleOf(settings.scheduler);
  const [firstKey, lastKey] = scale.keys;
  const state = {
    queue,
    history: [], // [{review, card, choice}] graded in this sitting, oldest first
    revealed: false,
    shownAt: 0,
    pending: null, // the grade being sent: {cardId, choiceKey, key, body}, kept for a retry
    busy: false,
    card: null,
    shown: null, // {back, controls} of the card on screen
  };

  const counts = h("ul", { class: "review-counts", "aria-label": "Waiting today" });
  const bar = h("div");
  const progress = h("div", { class: "progress", role: "progressbar", "aria-label": "Reviewed in this sitting", "aria-valuemin": "0" }, bar);
  const progressText = h("p", { class: "meta review-progress-text" });
  const errors = h("div");
  const stage = h("div", { class: "review-stage" });
  const undoButton = h(
    "button",
    { type: "button", onclick: () => undo(), "aria-keyshortcuts": "U" },
    "Undo last grade ",
    h("kbd", {}, "U"),
  );

  fill(
    view,
    h("h1", {}, "Review"),
    counts,
    progress,
    progressText,
    errors,
    stage,
    h("div", { class: "actions" }, undoButton),
    h(
      "section",
      { class: "shortcuts", "aria-labelledby": "review-shortcuts" },
      h("h2", { id: "review-shortcuts" }, "Keyboard shortcuts"),
      h(
        "ul",
        {},
        h("li", {}, h("kbd", {}, "Space"), " shows the answer"),
        h(
          "li",
          {},
          h("kbd", {}, firstKey),
          "–",
          h("kbd", {}, lastKey),
          " grade the card, once the answer shows",
          scale.name === "fsrs" ? `: ${scale.choices.map(({ key, label }) => `${key} ${label}`).join(", ")}` : null,
        ),
        h("li", {}, h("kbd", {}, "U"), " undoes the last grade"),
      ),
      h("p", { class: "hint" }, "Shortcuts do nothing while you type in a text field."),
    ),
  );
  show({ moveFocus: false });
  document.addEventListener("keydown", onKey, { signal });

  function show({ moveFocus }) {
    const { counts: waiting, cards } = state.queue;
    const done = state.history.length;
    const total = done + waiting.due + waiting.new + waiting.drill;
    fill(
      counts,
      h("li", {}, h("strong", {}, String(waiting.due)), " due"),
      h("li", {}, h("strong", {}, String(waiting.new)), " new"),
      h("li", {}, h("strong", {}, String(waiting.drill)), " in the drill"),
    );
    progress.setAttribute("aria-valuemax", String(Math.max(total, 1)));
    progress.setAttribute("aria-valuenow", String(done));
    progress.setAttribute("aria-valuetext", `${done} of ${total} reviewed`);
    bar.style.width = total ? `${(100 * done) / total}%` : "0%";
    progressText.textContent = total ? `${done} of ${total} reviewed in this sitting` : "Nothing waiting today";
    undoButton.disabled = state.busy || !done;
    if (cards.length) showCard(cards[0], { moveFocus });
    else showFinished({ moveFocus });
  }

  function showCard(card, { moveFocus }) {
    if (state.pending?.cardId !== card.id) state.pending = null;
    state.card = card;
    state.revealed = false;
    const shown = cardView(card, scale);
    const showAnswer = h(
      "button",
      { type: "button", class: "primary", onclick: reveal, "aria-keyshortcuts": "Space" },
      "Show answer ",
      h("kbd", {}, "Space"),
    );
    const controls = h("div", { class: "review-controls" }, showAnswer);
    state.shown = { ...shown, controls };
    fill(stage, shown.element, controls);
    state.shownAt = performance.now();
    if (moveFocus) shown.element.focus();
  }

  function reveal() {
    if (state.revealed || !state.card || state.busy) return;
    state.revealed = true;
    state.shown.back.hidden = false;
    fill(state.shown.controls, gradeButtons(scale, (choice) => submit(choice)));
    // Not a grade button: a second Space must never grade by accident.
    state.shown.back.focus();
  }

  async function submit(choice) {
    if (state.busy || !state.revealed || !state.card) return;
    const card = state.card;
    if (state.pending?.cardId !== card.id || state.pending.choiceKey !== choice.key) {
      state.pending = {
        cardId: card.id,
        choiceKey: choice.key,
        key: newKey(),
        body: {
          card_id: card.id,
          ...choice.body,
          duration_ms: Math.min(MAX_DURATION_MS, Math.round(performance.now() - state.shownAt)),
          reviewed_at: isoWithOffset(new Date()),
        },
      };
    }
    // The same key and body on a retry: if the first attempt did reach the server,
    // it answers with that review instead of grading the card twice.
    const { key, body } = state.pending;
    setBusy(true);
    errors.replaceChildren();
    let result;
    try {
      result = await api.post("reviews", body, { headers: { "Idempotency-Key": key }, signal });
    } catch (error) {
      if (error?.name === "AbortError") return;
      setBusy(false);
      showGradeError(error);
      return;
    }
    state.pending = null;
    state.history.push({ review: result.review, card, choice });
    announce(`Graded ${choice.spoken}.`);
    await reload({ justGraded: card.id });
    setBusy(false);
    updateDueBadge();
  }

  async function undo() {
    if (state.busy || !state.history.length) return;
    setBusy(true);
    errors.replaceChildren();
    let result;
    try {
      result = await api.post("reviews/undo", {}, { signal });
    } catch (error) {
      if (error?.name === "AbortError") return;
      setBusy(false);
      errors.replaceChildren(errorBox(error));
      return;
    }
    const index = state.history.findLastIndex((entry) => entry.review.id === result.undone.id);
    if (index >= 0) state.history.splice(index, 1);
    announce(
      index >= 0
        ? `Undid ${reviewWords(result.undone)}: the card is back.`
        : "Undid the latest review, which was made outside this sitting: that card is back.",
    );
    await reload({ toFront: result.card });
    setBusy(false);
    updateDueBadge();
  }

  async function reload({ justGraded = null, toFront = null } = {}) {
    try {
      state.queue = await api.get("reviews/queue", { signal });
    } catch (error) {
      if (error?.name === "AbortError") return;
      const again = h("button", { type: "button", onclick: () => reload() }, "Try again");
      errors.replaceChildren(errorBox(error, { action: again }));
      state.card = null;
      fill(stage, h("p", { class: "empty" }, "The next card could not be loaded."));
      return;
    }
    errors.replaceChildren();
    const cards = state.queue.cards;
    if (toFront) {
      const at = cards.findIndex((card) => card.id === toFront.id);
      cards.unshift(at >= 0 ? cards.splice(at, 1)[0] : toFront);
    } else if (justGraded && cards.length > 1 && cards[0].id === justGraded) {
      // A card failed just now is due again at once; seeing it straight away would test
      // short-term memory only, so it waits behind the rest.
      cards.push(cards.shift());
    }
    show({ moveFocus: true });
  }

  function showGradeError(error) {
    const stale = ["not_due", "not_reviewable", "card_not_found"].includes(error?.code);
    const action = stale
      ? h(
          "div",
          {},
          h("p", {}, "It may have been graded in another tab or changed on the Cards page."),
          h("button", { type: "button", onclick: () => reload() }, "Go to the next card"),
        )
      : h("p", {}, "Your grade was not saved yet: choose it again to retry.");
    errors.replaceChildren(errorBox(error, { action }));
  }

  function showFinished({ moveFocus }) {
    state.card = null;
    state.revealed = false;
    const done = state.history.length;
    const heading = h("h2", { id: "review-done-heading", tabindex: "-1" }, done ? "Done for today" : "Nothing to review right now");
    const ahead = h("div", { class: "review-ahead" }, h("p", { class: "loading", role: "status" }, "Looking at tomorrow…"));
    fill(
      stage,
      h(
        "section",
        { class: "review-done item", "aria-labelledby": "review-done-heading" },
        heading,
        done ? sittingSummary(state.history, scale) : null,
        ahead,
        h(
          "p",
          { class: "actions" },
          h("a", { href: "#/stats", class: "button" }, "See your stats"),
          h("a", { href: "#/", class: "button" }, "Back to sessions"),
        ),
      ),
    );
    if (moveFocus) heading.focus();
    api
      .get("stats", { signal })
      .then((stats) => fill(ahead, waitingSummary(stats, { reviewedNow: done > 0 })))
      .catch((error) => {
        if (error?.name === "AbortError") return;
        fill(ahead, h("p", { class: "muted" }, "Tomorrow's count could not be loaded."));
      });
  }

  function setBusy(busy) {
    state.busy = busy;
    stage.setAttribute("aria-busy", String(busy));
    for (const button of stage.querySelectorAll(".grades button")) button.disabled = busy;
    undoButton.disabled = busy || !state.history.length;
  }

  function onKey(event) {
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (isTextField(event.target) || document.querySelector("dialog[open]")) return;
    if (event.key === " ") {
      // Space on a focused button or link is that control's own.
      if (event.target instanceof Element && event.target.closest("button, a, summary")) return;
      if (state.card && !state.revealed) {
        event.preventDefault();
        reveal();
      }
    } else if (/^[0-9]$/.test(event.key)) {
      const choice = scale.choices.find(({ key }) => key === event.key);
      if (!choice || !state.revealed) return;
      event.preventDefault();
      submit(choice);
    } else if (event.key === "u" || event.key === "U") {
      event.preventDefault();
      undo();
    }
  }
}

function isTextField(target) {
  return target instanceof Element && target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])") !== null;
}

/** A random UUID; crypto.randomUUID exists only on https or localhost. */
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Local time with its offset (2026-03-12T09:30:00.000+01:00), the moment of the grade. */
function isoWithOffset(date) {
  const pad = (number, width = 2) => String(Math.abs(number)).padStart(width, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}
