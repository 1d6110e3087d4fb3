// What the review page shows: a card, the grade buttons of the learner's scheduler
// (SM-2's six, or FSRS's four as in Anki), and the end of a sitting.
import { formatDate, h, plural, serverHtml } from "../lib/dom.js";
import { fromPaperLine } from "../lib/papers.js";

/** SM-2's grades, each in plain words (the published scale, shortened). */
export const GRADES = [
  { grade: 0, label: "Blackout", hint: "nothing came back" },
  { grade: 1, label: "Wrong", hint: "familiar once seen" },
  { grade: 2, label: "Wrong", hint: "but easy to recall once seen" },
  { grade: 3, label: "Right", hint: "with real effort" },
  { grade: 4, label: "Right", hint: "after a pause" },
  { grade: 5, label: "Perfect", hint: "at once, sure of it" },
];

/** FSRS's ratings: Anki's four buttons, with what Anki's manual says each one means. */
export const RATINGS = [
  { rating: "again", label: "Again", hint: "forgot it" },
  { rating: "hard", label: "Hard", hint: "recalled with real effort" },
  { rating: "good", label: "Good", hint: "recalled after a moment" },
  { rating: "easy", label: "Easy", hint: "recalled at once, no effort" },
];

/**
 * The answers a learner's scheduler takes, each with its key, what the API is sent,
 * and whether it counts as remembered. `grade` and `rating` are the two scales of the
 * API (POST /v1/reviews takes exactly one of them).
 */
export const SCALES = {
  sm2: {
    name: "sm2",
    keys: ["0", "5"],
    choices: GRADES.map(({ grade, label, hint }) => ({
      key: String(grade),
      label,
      hint,
      body: { grade },
      recalled: grade >= 3,
      short: String(grade),
      spoken: `${grade}, ${label} ${hint}`,
    })),
    recalledWords: "3–5",
    forgottenWords: "0–2",
    word: ["Grade", "Grades"],
  },
  fsrs: {
    name: "fsrs",
    keys: ["1", "4"],
    choices: RATINGS.map(({ rating, label, hint }, index) => ({
      key: String(index + 1),
      label,
      hint,
      body: { rating },
      recalled: rating !== "again",
      short: label,
      spoken: `${label}, ${hint}`,
    })),
    recalledWords: "Hard, Good or Easy",
    forgottenWords: "Again",
    word: ["Rating", "Ratings"],
  },
};

export function scaleOf(scheduler) {
  return SCALES[scheduler] ?? SCALES.sm2;
}

/** A past review on the scale of the scheduler that scheduled it: "grade 4" or "Good". */
export function reviewWords(review) {
  if (review.scheduler === "fsrs") {
    return RATINGS.find(({ rating }) => rating === review.rating)?.label ?? review.rating;
  }
  return `grade ${review.grade}`;
}

function stage(card, scale) {
  const { drill, last_reviewed_at: reviewedAt, fsrs } = card.schedule;
  if (!reviewedAt) return "New card";
  if (!drill) return "Review";
  // FSRS brings a card back the same day for its learning (or relearning) steps.
  if (scale.name === "fsrs") return fsrs?.state === "relearning" ? "Relearning step: again today" : "Learning step: again today";
  return "Drill: again until you grade it 4 or 5";
}

/**
 * The card with its answer hidden: `{element, back}`. For a cloze card the server's
 * front_html already shows the blank ([…] or its hint) and back_html the whole text
 * with the answer in bold, then any extra notes.
 */
export function cardView(card, scale = SCALES.sm2) {
  const back = card.back_html
    ? serverHtml("section", card.back_html)
    : h("section", {}, h("p", { class: "muted" }, "This card has no answer side."));
  back.className = "back";
  back.setAttribute("aria-label", "Answer");
  back.tabIndex = -1;
  back.hidden = true;
  const element = h(
    "article",
    { class: "flashcard", tabindex: "-1", "aria-label": "Card", dataset: { cardId: card.id, kind: card.kind } },
    h(
      "p",
      { class: "meta" },
      h("span", { class: "tag" }, stage(card, scale)),
      card.kind === "cloze" ? h("span", { class: "tag" }, "Cloze: fill in the blank") : null,
    ),
    serverHtml("section", card.front_html, { class: "front", "aria-label": "Question" }),
    back,
    // A card distilled from a passage links home: the reader opens at it, marked.
    card.from_paper ? fromPaperLine(card.from_paper) : null,
  );
  return { element, back };
}

/** The scale's buttons; `onChoose(choice)` with one of `scale.choices`. */
export function gradeButtons(scale, onChoose) {
  return h(
    "div",
    { class: "grades", role: "group", "aria-label": "How well did you remember it?", dataset: { scale: scale.name } },
    scale.choices.map((choice) =>
      h(
        "button",
        {
          type: "button",
          onclick: () => onChoose(choice),
          "aria-label": `${choice.key} ${choice.label}, ${choice.hint}`,
          "aria-keyshortcuts": choice.key,
          dataset: { key: choice.key },
        },
        h("kbd", {}, choice.key),
        " ",
        h("strong", {}, choice.label),
        h("span", { class: "grade-hint" }, choice.hint),
      ),
    ),
  );
}

/** What was graded in this sitting: the totals, then each card with its grades. */
export function sittingSummary(history, scale) {
  const byCard = new Map();
  for (const { card, choice } of history) {
    if (!byCard.has(card.id)) byCard.set(card.id, { card, answers: [] });
    byCard.get(card.id).answers.push(choice.short);
  }
  const right = history.filter(({ choice }) => choice.recalled).length;
  const [one, many] = scale.word;
  return [
    h(
      "p",
      {},
      `You graded ${plural(history.length, "review")} of ${plural(byCard.size, "card")} in this sitting: `,
      `${right} right (${scale.recalledWords}), ${history.length - right} to learn again (${scale.forgottenWords}).`,
    ),
    h(
      "ul",
      { class: "list review-summary", "aria-label": "Reviewed in this sitting" },
      [...byCard.values()].map(({ card, answers }) =>
        h(
          "li",
          { class: "item" },
          serverHtml("div", card.front_html, { class: "summary-front" }),
          h("p", { class: "meta" }, `${answers.length === 1 ? one : many}: ${answers.join(", ")}`),
        ),
      ),
    ),
  ];
}

/** What comes next, from GET /v1/stats: tomorrow's count, or how to get cards at all. */
export function waitingSummary(stats, { reviewedNow }) {
  const { active, draft } = stats.cards;
  if (!active && !reviewedNow) {
    return [
      h("p", {}, "You have no active cards yet, so there is nothing to review."),
      draft
        ? h("p", {}, `${plural(draft, "draft card")} wait for you to accept them: `, h("a", { href: "#/cards" }, "go to Cards"), ".")
        : null,
      h(
        "p",
        {},
        "Make cards from a session (open it, then “Make cards”) or write your own on the ",
        h("a", { href: "#/cards" }, "Cards page"),
        ".",
      ),
    ];
  }
  const tomorrow = stats.forecast[0];
  return [
    reviewedNow ? null : h("p", {}, "No cards are waiting today."),
    tomorrow
      ? h("p", {}, `Tomorrow (${formatDate(tomorrow.date)}): ${plural(tomorrow.due, "card")} due.`)
      : null,
  ];
}
