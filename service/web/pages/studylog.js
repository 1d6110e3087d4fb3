// The study log: the diary Tutor writes after each study day, newest first.
import { api } from "../lib/api.js";
import { fill, formatDate, formatDateTime, h, plural, serverHtml } from "../lib/dom.js";
import { announce, whileBusy } from "../lib/ui.js";

const SOURCE_STATUS = { queued: "to read", reading: "reading", done: "done" };

/** The day's numbers as short phrases, leaving out what did not happen. */
export function factPhrases(facts) {
  const phrases = [];
  if (facts.sessions) phrases.push(plural(facts.sessions, "session"));
  const passages = Object.entries(facts.passages_explained ?? {});
  const passageCount = passages.reduce((sum, [, count]) => sum + count, 0);
  if (passageCount) {
    const levels = passages.map(([level, count]) => `${count} ${level === "eli5" ? "ELI5" : level}`).join(", ");
    phrases.push(`${plural(passageCount, "passage")} explained (${levels})`);
  }
  if (facts.questions_asked) phrases.push(plural(facts.questions_asked, "question"));
  const critiques = Object.entries(facts.critiques ?? {});
  if (critiques.length) {
    phrases.push(`critiques: ${critiques.map(([verdict, count]) => `${count} ${verdict}`).join(", ")}`);
  }
  if (facts.reviews) {
    const retention = facts.retention === null || facts.retention === undefined ? "" : `, ${Math.round(facts.retention * 100)}% recalled`;
    phrases.push(`${plural(facts.reviews, "review")}${retention}`);
  }
  if (facts.new_cards_started) phrases.push(`${plural(facts.new_cards_started, "new card")} started`);
  if (facts.cards_created) phrases.push(`${plural(facts.cards_created, "card")} made`);
  if (facts.cards_accepted) phrases.push(`${facts.cards_accepted} accepted`);
  return phrases;
}

function entryElement(initial, { signal }) {
  let entry = initial;
  const element = h("li", { class: "item log-entry", dataset: { date: entry.date } });
  const slot = h("div");

  function show() {
    const headingId = `log-${entry.date}`;
    const phrases = factPhrases(entry.facts ?? {});
    const concepts = entry.facts?.concepts ?? [];
    const shaky = entry.facts?.shaky_concepts ?? [];
    const moved = entry.facts?.sources_moved ?? [];
    const write = h("button", { type: "button", onclick: (event) => regenerate(event.currentTarget) }, "Write again");
    fill(
      element,
      h(
        "article",
        { "aria-labelledby": headingId },
        h("h2", { id: headingId }, entry.title),
        h("p", { class: "meta" }, h("time", { datetime: entry.date }, formatDate(entry.date))),
        entry.narrative_html
          ? serverHtml("div", entry.narrative_html, { class: "narrative" })
          : entry.narrative
            ? h("p", { class: "narrative" }, entry.narrative)
            : h("p", { class: "muted" }, "No narrative yet: the model could not be reached when this was written. The numbers below are complete; “Write again” asks the model once more."),
        phrases.length ? h("p", { class: "log-facts" }, phrases.join(" · ")) : null,
        concepts.length ? h("p", { class: "meta" }, "Concepts: ", concepts.join(", ")) : null,
        shaky.length ? h("p", { class: "meta" }, "Still shaky: ", shaky.join(", ")) : null,
        moved.length
          ? h("p", { class: "meta" }, "Sources: ", moved.map((source) => `${source.title} (${SOURCE_STATUS[source.status] ?? source.status})`).join(", "))
          : null,
        h("div", { class: "actions" }, write, h("span", { class: "meta" }, `Written ${formatDateTime(entry.updated_at)}`)),
        slot,
      ),
    );
  }

  async function regenerate(button) {
    button.textContent = "Writing…";
    const updated = await whileBusy(button, () => api.post(`study-log/${entry.date}/regenerate`, {}, { signal }), slot);
    button.textContent = "Write again";
    if (!updated) return;
    entry = updated;
    show();
    announce(`${entry.title} was written again.`);
    element.querySelector("button").focus();
  }

  show();
  return element;
}

export async function render(view, { signal }) {
  const { items } = await api.get("study-log", { signal });
  const intro = h("p", { class: "hint" }, "After each study day ends, Tutor counts what you did and writes a short diary entry about it.");
  if (!items.length) {
    fill(
      view,
      h("h1", {}, "Study log"),
      intro,
      h(
        "p",
        { class: "empty" },
        "No entries yet. An entry appears after a day on which you studied has ended (at your day's start hour, see Settings), written by the background process ",
        h("code", {}, "tutor scheduler"),
        ". If it is not running, start it next to ",
        h("code", {}, "tutor serve"),
        ".",
      ),
    );
    return;
  }
  fill(
    view,
    h("h1", {}, "Study log"),
    intro,
    h("ol", { class: "list", "aria-label": "Entries, newest first" }, items.map((entry) => entryElement(entry, { signal }))),
  );
}
