// What the review page shows: a card, the six grades, and the end of a sitting.
import { formatDate, h, plural, serverHtml } from "../lib/dom.js";

/** SM-2's grades, each in plain words (the published scale, shortened). */
export const GRADES = [
  { grade: 0, label: "Blackout", hint: "nothing came back" },
  { grade: 1, label: "Wrong", hint: "familiar once seen" },
  { grade: 2, label: "Wrong", hint: "but easy to recall once seen" },
  { grade: 3, label: "Right", hint: "with real effort" },
  { grade: 4, label: "Right", hint: "after a pause" },
  { grade: 5, label: "Perfect", hint: "at once, sure of it" },
];

function stage(card) {
  if (card.schedule.drill) return "Drill: again until you grade it 4 or 5";
  return card.schedule.last_reviewed_at ? "Review" : "New card";
}

/**
 * The card with its answer hidden: `{element, back}`. For a cloze card the server's
 * front_html already shows the blank ([…] or its hint) and back_html the whole text
 * with the answer in bold, then any extra notes.
 */
export function cardView(card) {
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
      h("span", { class: "tag" }, stage(card)),
      card.kind === "cloze" ? h("span", { class: "tag" }, "Cloze: fill in the blank") : null,
    ),
    serverHtml("section", card.front_html, { class: "front", "aria-label": "Question" }),
    back,
  );
  return { element, back };
}

export function gradeButtons(onGrade) {
  return h(
    "div",
    { class: "grades", role: "group", "aria-label": "How well did you remember it?" },
    GRADES.map(({ grade, label, hint }) =>
      h(
        "button",
        {
          type: "button",
          onclick: () => onGrade(grade),
          "aria-label": `${grade} ${label}, ${hint}`,
          "aria-keyshortcuts": String(grade),
          dataset: { grade },
        },
        h("kbd", {}, String(grade)),
        " ",
        h("strong", {}, label),
        h("span", { class: "grade-hint" }, hint),
      ),
    ),
  );
}

/** What was graded in this sitting: the totals, then each card with its grades. */
export function sittingSummary(history) {
  const byCard = new Map();
  for (const { card, grade } of history) {
    if (!byCard.has(card.id)) byCard.set(card.id, { card, grades: [] });
    byCard.get(card.id).grades.push(grade);
  }
  const right = history.filter(({ grade }) => grade >= 3).length;
  return [
    h(
      "p",
      {},
      `You graded ${plural(history.length, "review")} of ${plural(byCard.size, "card")} in this sitting: `,
      `${right} right (3–5), ${history.length - right} to learn again (0–2).`,
    ),
    h(
      "ul",
      { class: "list review-summary", "aria-label": "Reviewed in this sitting" },
      [...byCard.values()].map(({ card, grades }) =>
        h(
          "li",
          { class: "item" },
          serverHtml("div", card.front_html, { class: "summary-front" }),
          h("p", { class: "meta" }, `${grades.length === 1 ? "Grade" : "Grades"}: ${grades.join(", ")}`),
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
