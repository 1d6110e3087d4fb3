// Stats: "your own history as the judge". How well SM-2 and FSRS (default parameters,
// and fitted ones once fitted) predicted what the learner recalled, and fitting FSRS to
// the learner's reviews as a background job this panel follows until it ends.
import { api, ApiError } from "../lib/api.js";
import { updateDueBadge } from "../lib/badge.js";
import { fill, formatDateTime, h, plural } from "../lib/dom.js";
import { errorBox, loading } from "../lib/ui.js";

const POLL_MS = 1500;
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
const decimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 3, maximumFractionDigits: 3 });

/** The section; it loads its own data, so the rest of the stats page need not wait. */
export function schedulerPanel({ signal }) {
  const table = h("div", {}, loading("Scoring the schedulers on your reviews"));
  const errors = h("div");
  const fitButton = h("button", { type: "button", disabled: true }, "Fit FSRS to my reviews");
  const fitNote = h("p", { id: "fit-note", class: "meta" });
  fitButton.setAttribute("aria-describedby", fitNote.id);
  const progressSlot = h("div");
  const outcome = h("div", { role: "status", class: "fit-outcome", tabindex: "-1" });
  let stats = null;
  let running = false;

  const section = h(
    "section",
    { class: "scheduler-scores", "aria-labelledby": "stats-schedulers" },
    h("h2", { id: "stats-schedulers" }, "Which scheduler predicts you best"),
    h(
      "p",
      {},
      "Before each review, every scheduler gives a chance that you remember the card; the review shows whether you did. ",
      "Your own history is the judge: ",
      h("strong", {}, "log loss"),
      " measures how well those chances matched what happened (lower is better), and ",
      h("strong", {}, "RMSE (bins)"),
      " how far the chances were off in groups of similar reviews (lower is better too).",
    ),
    table,
    errors,
    h(
      "div",
      { class: "fit" },
      h("h3", {}, "Fit FSRS to you"),
      h("p", { class: "hint" }, "FSRS learns 21 parameters from your reviews; the fitted ones are used only if they predict your history better than those in use."),
      h("div", { class: "actions" }, fitButton),
      fitNote,
      progressSlot,
      outcome,
    ),
  );
  fitButton.addEventListener("click", startFit, { signal });
  load();
  return section;

  async function load() {
    try {
      const [scores, latest] = await Promise.all([api.get("stats/scheduler", { signal }), latestFit()]);
      stats = scores;
      showScores();
      if (latest?.status === "running") follow(latest);
      else if (latest) fill(outcome, h("p", { class: "meta" }, `Latest fit, ${formatDateTime(latest.created_at)}: ${latest.message ?? latest.stage}`));
    } catch (error) {
      if (error?.name === "AbortError") return;
      const again = h("button", { type: "button", onclick: () => load() }, "Try again");
      fill(table, errorBox(error, { action: again }));
    }
  }

  async function latestFit() {
    try {
      return await api.get("me/fsrs/optimize", { signal });
    } catch (error) {
      if (error?.code === "no_optimization") return null;
      throw error;
    }
  }

  function showScores() {
    fill(table, scoresTable(stats));
    const { fit_has: has, fit_needs: needs } = stats;
    fitButton.disabled = running || has < needs;
    fitNote.textContent =
      has >= needs
        ? `FSRS can learn from ${plural(has, "scored review")} of yours.`
        : `Fitting FSRS needs ${plural(needs, "scored review")} and you have ${has}: it needs ${needs - has} more.`;
  }

  async function startFit() {
    if (running) return;
    errors.replaceChildren();
    outcome.replaceChildren();
    fitButton.disabled = true;
    fitButton.setAttribute("aria-busy", "true");
    try {
      follow(await api.post("me/fsrs/optimize", {}, { signal }));
    } catch (error) {
      if (error?.name === "AbortError") return;
      if (error?.code === "optimization_running") {
        // Started in another tab: follow that one.
        const latest = await latestFit().catch(() => null);
        if (latest?.status === "running") {
          follow(latest);
          return;
        }
      }
      errors.replaceChildren(errorBox(error));
      fitButton.disabled = stats ? stats.fit_has < stats.fit_needs : false;
    } finally {
      fitButton.removeAttribute("aria-busy");
    }
  }

  /** Shows a running fit, asks after it every POLL_MS until it ends or the page is left. */
  function follow(job) {
    running = true;
    fitButton.disabled = true;
    const started = Date.parse(job.created_at);
    const stage = h("span", { class: "fit-stage" }, job.stage);
    // Inside the status region but not read out each second: the stage is what matters.
    const elapsed = h("span", { class: "fit-elapsed", "aria-live": "off" });
    const tick = () => {
      const seconds = Math.max(0, Math.round((Date.now() - started) / 1000));
      elapsed.textContent = `${plural(seconds, "second")} so far, about ${plural(Math.round(job.estimated_seconds), "second")} expected`;
    };
    tick();
    fill(
      progressSlot,
      h(
        "div",
        { class: "fit-progress notice", role: "status" },
        h("p", {}, stage),
        h("progress", { "aria-label": "Fitting FSRS" }),
        h("p", { class: "meta" }, elapsed),
      ),
    );
    const clock = setInterval(tick, 1000);
    let timer = null;
    const stop = () => {
      clearInterval(clock);
      clearTimeout(timer);
    };
    signal.addEventListener("abort", stop, { once: true });

    const poll = async () => {
      let latest;
      try {
        latest = await api.get("me/fsrs/optimize", { signal });
      } catch (error) {
        if (error?.name === "AbortError") return;
        stop();
        running = false;
        const again = h("button", { type: "button", onclick: () => follow(job) }, "Check again");
        progressSlot.replaceChildren(errorBox(error, { action: again }));
        return;
      }
      if (latest.status === "running") {
        job = latest;
        stage.textContent = latest.stage;
        timer = setTimeout(poll, POLL_MS);
        return;
      }
      stop();
      signal.removeEventListener("abort", stop);
      await finished(latest);
    };
    timer = setTimeout(poll, POLL_MS);
  }

  async function finished(job) {
    running = false;
    progressSlot.replaceChildren();
    const focusLost = !document.activeElement || document.activeElement === document.body || document.activeElement === fitButton;
    if (job.status === "failed") {
      const failure = new ApiError({ code: "fit_failed", message: job.message ?? "The fit failed." });
      errors.replaceChildren(errorBox(failure));
    } else {
      // Fitted parameters in use reschedule an FSRS learner's cards: today's count may change.
      if (job.applied) updateDueBadge();
      fill(
        outcome,
        h("p", {}, job.message ?? job.stage),
        job.applied && stats?.in_use === "sm2"
          ? h("p", { class: "meta" }, "You review with SM-2: choose FSRS in ", h("a", { href: "#/settings" }, "Settings"), " to be scheduled by them.")
          : null,
      );
    }
    try {
      stats = await api.get("stats/scheduler", { signal });
    } catch (error) {
      if (error?.name === "AbortError") return;
      errors.append(errorBox(error));
    }
    if (stats) showScores();
    // The button was disabled under the learner's focus: the result is where it goes next.
    const result = job.status === "failed" ? errors.firstElementChild : outcome;
    if (focusLost && result && !signal.aborted) {
      result.tabIndex = -1;
      result.focus();
    }
  }
}

/** Which score is the scheduler the learner is on: FSRS's fitted row once there is one. */
function inUseOf(stats) {
  if (stats.in_use === "sm2") return "sm2";
  return stats.scores.some((score) => score.scheduler === "fsrs_fitted") ? "fsrs_fitted" : "fsrs_default";
}

function scoresTable(stats) {
  const scored = stats.scores.some((score) => score.log_loss !== null);
  if (!scored) {
    return h(
      "p",
      { class: "empty" },
      stats.reviews
        ? `Nothing scored yet: ${plural(stats.reviews, "review")} so far, but none of a card that came back on a later day. After a few days of reviews this table shows which scheduler predicts you best.`
        : "Nothing scored yet: no reviews so far. After a few days of reviews this table shows which scheduler predicts you best.",
    );
  }
  const inUse = inUseOf(stats);
  const number = (value, format) => (value === null ? "—" : format.format(value));
  const scoredReviews = Math.max(...stats.scores.map((score) => score.reviews));
  const header = ["Scheduler", "Reviews scored", "Log loss", "RMSE (bins)", "Predicted recall", "Actual recall"];
  const rows = stats.scores.map((score) => {
    const best = score.scheduler === stats.best;
    const used = score.scheduler === inUse;
    return h(
      "tr",
      { dataset: { scheduler: score.scheduler, best: String(best), inUse: String(used) } },
      h(
        "th",
        { scope: "row" },
        score.label,
        best ? [" ", h("span", { class: "tag tag-best" }, "best")] : null,
        used ? [" ", h("span", { class: "tag" }, "in use")] : null,
      ),
      h("td", {}, String(score.reviews)),
      h("td", {}, number(score.log_loss, decimal)),
      h("td", {}, number(score.rmse_bins, decimal)),
      h("td", {}, number(score.mean_predicted, percent)),
      h("td", {}, number(score.mean_recalled, percent)),
    );
  });
  const table = h(
    "table",
    { class: "scores" },
    // Short, so that it shows whole on a phone, where the table is wider than the screen.
    h("caption", { id: "scheduler-table-caption" }, "Scores on your reviews"),
    h("thead", {}, h("tr", {}, header.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows),
  );
  return [
    h(
      "p",
      { class: "meta" },
      `${plural(stats.reviews, "review")} of ${plural(stats.cards, "card")}; ${scoredReviews} scored, `,
      "each made on a later day than the card's review before (a same-day repeat tests no memory).",
    ),
    // Six columns do not fit a phone: the table scrolls inside its box, not the page.
    h("div", { class: "table-scroll", role: "region", "aria-labelledby": "scheduler-table-caption", tabindex: "0" }, table),
  ];
}
