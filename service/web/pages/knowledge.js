// What Tutor knows: the learner model the tutor is told about, and the learner's corrections.
import { api } from "../lib/api.js";
import { fill, formatDateTime, h, labelled, plural, uniqueId } from "../lib/dom.js";
import { announce, errorBox, whileBusy } from "../lib/ui.js";

const STATUS_WORDS = { shaky: "Shaky", learning: "Learning", solid: "Solid" };
const STATUS_ORDER = { shaky: 0, learning: 1, solid: 2 };
const MARKS = [
  { value: "", label: "—" },
  { value: "known", label: "I know this" },
  { value: "learning", label: "Treat as new" },
  { value: "ignore", label: "Don't use" },
];
const MARK_DONE = {
  "": (name) => `Your correction for “${name}” is cleared: Tutor goes by the evidence.`,
  known: (name) => `Tutor will build on “${name}”.`,
  learning: (name) => `Tutor will treat “${name}” as new to you.`,
  ignore: (name) => `The tutor will not be told about “${name}”.`,
};
const STATE_WORDS = { open: "Open", resolved: "Resolved", dismissed: "Dismissed" };
const NOTHING_TOLD = "Nothing: the tutor starts from zero on this text.";
// The text goes into the query string: long enough for a passage, short enough for any URL.
const MAX_ABOUT = 4000;

const easeFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** "2 explanations, last 3/5 · 4 cards, 3 lapses, ease 2.1 · 1 open misconception". */
export function evidenceWords(concept) {
  const parts = [];
  if (concept.attempts) {
    const last = concept.last_score === null || concept.last_score === undefined ? "" : `, last ${concept.last_score}/5`;
    parts.push(`${plural(concept.attempts, "explanation")}${last}`);
  }
  if (concept.cards) {
    const ease = concept.ease === null || concept.ease === undefined ? "" : `, ease ${easeFormat.format(concept.ease)}`;
    parts.push(`${plural(concept.cards, "card")}, ${plural(concept.lapses ?? 0, "lapse")}${ease}`);
  }
  if (concept.open_misconceptions) parts.push(plural(concept.open_misconceptions, "open misconception"));
  return parts.length ? parts.join(" · ") : "No evidence yet: no explanations of it, no cards.";
}

function timesWords(times) {
  return times > 1 ? `came back ${times}×` : "seen once";
}

function statusBadge(status) {
  return h("span", { class: `knowledge-status status-${status}` }, STATUS_WORDS[status] ?? status);
}

export async function render(view, { signal }) {
  const model = await api.get("me/knowledge", { signal });
  const concepts = [...model.concepts];

  // == Concepts ==
  const conceptList = h("ul", { class: "list concept-list", "aria-label": "Concepts" });
  const conceptItems = new Map(); // key → {element, update(concept)}

  function conceptItem(initial) {
    let concept = initial;
    const titleId = uniqueId("concept");
    const badge = h("span", {});
    const evidence = h("p", { class: "meta evidence" });
    const seen = h("p", { class: "meta" });
    const errors = h("div");
    const select = h(
      "select",
      { id: uniqueId("mark"), "aria-describedby": "mark-meanings", onchange: changeMark },
      MARKS.map((mark) => h("option", { value: mark.value }, mark.label)),
    );
    const title = h("h3", { id: titleId });
    const labelName = h("span", { class: "visually-hidden" });
    const label = h("label", { for: select.id }, "Your correction", labelName);
    const element = h(
      "li",
      { class: "item concept-item", dataset: { key: concept.key } },
      h(
        "article",
        { "aria-labelledby": titleId },
        h("div", { class: "concept-head" }, title, badge),
        evidence,
        seen,
        h("div", { class: "field mark-field" }, label, select),
        errors,
      ),
    );

    function update(fresh) {
      concept = fresh;
      element.dataset.mark = concept.mark ?? "";
      element.dataset.status = concept.status;
      title.textContent = concept.name;
      labelName.textContent = ` for ${concept.name}`;
      fill(badge, statusBadge(concept.status));
      evidence.textContent = evidenceWords(concept);
      seen.textContent = concept.last_seen ? `Last seen ${formatDateTime(concept.last_seen)}` : "";
      seen.hidden = !concept.last_seen;
      select.value = concept.mark ?? "";
    }

    async function changeMark() {
      const wanted = select.value;
      const focused = document.activeElement === select;
      const updated = await whileBusy(
        select,
        // By name, not key: the server keys it the same, and keeps the learner's wording
        // for a concept only they named.
        () => api.patch(`me/knowledge/concepts/${encodeURIComponent(concept.name)}`, { mark: wanted || null }, { signal }),
        errors,
      );
      // Disabled while busy, the select lost the focus: give it back.
      if (focused) select.focus();
      if (!updated) {
        select.value = concept.mark ?? "";
        return;
      }
      update(updated);
      announce(MARK_DONE[updated.mark ?? ""](updated.name));
    }

    update(concept);
    return { element, update };
  }

  function renderConcepts() {
    conceptItems.clear();
    if (!concepts.length) {
      fill(
        conceptList,
        h("li", { class: "empty" }, "Tutor has not seen any concept yet: explain one back in a session, or add one you already know below."),
      );
      return;
    }
    fill(
      conceptList,
      concepts.map((concept) => {
        const item = conceptItem(concept);
        conceptItems.set(concept.key, item);
        return item.element;
      }),
    );
  }

  /** A concept the learner added: updated where it is, or put in its place by status. */
  function keepConcept(concept) {
    const known = conceptItems.get(concept.key);
    if (known) {
      known.update(concept);
      concepts[concepts.findIndex((candidate) => candidate.key === concept.key)] = concept;
      return;
    }
    if (!concepts.length) conceptList.replaceChildren(); // the "nothing yet" line goes
    const rank = STATUS_ORDER[concept.status] ?? 1;
    let index = concepts.findIndex((candidate) => (STATUS_ORDER[candidate.status] ?? 1) > rank);
    if (index === -1) index = concepts.length;
    const item = conceptItem(concept);
    conceptItems.set(concept.key, item);
    conceptList.insertBefore(item.element, conceptList.children[index] ?? null);
    concepts.splice(index, 0, concept);
  }

  /** A dismissed (or returned) mistake changes its concept's evidence and status: shown
   * where the concept already is, so nothing moves under the learner's pointer. */
  async function refreshConcepts() {
    const fresh = await api.get("me/knowledge", { signal }).catch(() => null);
    for (const concept of fresh?.concepts ?? []) {
      const index = concepts.findIndex((candidate) => candidate.key === concept.key);
      if (index === -1) continue;
      concepts[index] = concept;
      conceptItems.get(concept.key)?.update(concept);
    }
  }

  const name = labelled(
    "Concept name",
    h("input", { name: "concept", required: true, maxlength: 200, autocomplete: "off", placeholder: "Softmax" }),
    "Tutor builds on it instead of explaining it from the start.",
  );
  const addButton = h("button", { type: "submit", class: "primary" }, "Add as known");
  const addErrors = h("div");
  const addForm = h(
    "form",
    {
      class: "item add-concept",
      "aria-labelledby": "add-concept-heading",
      onsubmit: async (event) => {
        event.preventDefault();
        const wanted = name.control.value.trim();
        if (!wanted) return;
        const added = await whileBusy(
          addButton,
          () => api.patch(`me/knowledge/concepts/${encodeURIComponent(wanted)}`, { mark: "known" }, { signal }),
          addErrors,
        );
        if (!added) return;
        keepConcept(added);
        name.control.value = "";
        name.control.focus();
        announce(`Added “${added.name}”: Tutor will build on it.`);
      },
    },
    h("h3", { id: "add-concept-heading" }, "Add a concept you already know"),
    name.field,
    addErrors,
    h("div", { class: "actions" }, addButton),
  );

  // == Misconceptions ==
  const misconceptionList = h("ul", { class: "list misconception-list", "aria-label": "Misconceptions" });

  function misconceptionItem(initial) {
    let misconception = initial;
    const textId = uniqueId("misconception");
    const state = h("span", {});
    const errors = h("div");
    const toggle = h("button", { type: "button", "aria-pressed": "false", onclick: toggleDismissed }, "Not mine / got it");
    const element = h(
      "li",
      { class: "item misconception-item", dataset: { id: misconception.id } },
      h(
        "article",
        { "aria-labelledby": textId },
        h("p", { class: "misconception-head" }, h("span", { id: textId, class: "misconception-text" }, misconception.text), " ", state),
        misconception.quote
          ? h("blockquote", { class: "learner-words" }, h("span", { class: "learner-words-label" }, "You wrote: "), `“${misconception.quote}”`)
          : null,
        h(
          "p",
          { class: "meta" },
          misconception.concept,
          ` · ${timesWords(misconception.times)}`,
          misconception.last_seen ? ` · last ${formatDateTime(misconception.last_seen)}` : "",
        ),
        h("div", { class: "actions" }, toggle),
        errors,
      ),
    );

    function update(fresh) {
      misconception = fresh;
      element.dataset.state = misconception.state;
      fill(state, h("span", { class: `misconception-state state-${misconception.state}` }, STATE_WORDS[misconception.state] ?? misconception.state));
      toggle.setAttribute("aria-pressed", String(misconception.state === "dismissed"));
    }

    async function toggleDismissed() {
      const dismissed = misconception.state !== "dismissed";
      const focused = document.activeElement === toggle;
      const updated = await whileBusy(
        toggle,
        () => api.patch(`me/knowledge/misconceptions/${encodeURIComponent(misconception.id)}`, { dismissed }, { signal }),
        errors,
      );
      if (focused) toggle.focus(); // disabled while busy, it lost the focus
      if (!updated) return;
      update(updated);
      refreshConcepts();
      announce(dismissed ? "Dismissed: the tutor will not bring it up." : `Back: “${updated.text}” is ${STATE_WORDS[updated.state]?.toLowerCase() ?? updated.state} again.`);
    }

    update(misconception);
    return element;
  }

  if (model.misconceptions.length) {
    fill(misconceptionList, model.misconceptions.map(misconceptionItem));
  } else {
    fill(misconceptionList, h("li", { class: "empty" }, "None yet: when a critique finds a misconception in your explanation, it shows here."));
  }

  // == Preview ==
  const about = labelled(
    "Passage or question",
    h("textarea", { name: "about", rows: 4, required: true, maxlength: MAX_ABOUT }),
    "Paste what you would ask the tutor about.",
  );
  const previewButton = h("button", { type: "submit" }, "Preview what the tutor is told");
  const previewErrors = h("div");
  const told = h("div", { class: "told", hidden: true, tabindex: "-1", "aria-labelledby": "told-heading", role: "region" });
  const previewForm = h(
    "form",
    {
      class: "item preview",
      "aria-labelledby": "preview-heading",
      onsubmit: async (event) => {
        event.preventDefault();
        const text = about.control.value.trim();
        if (!text) return;
        const fresh = await whileBusy(
          previewButton,
          () => api.get(`me/knowledge?about=${encodeURIComponent(text)}`, { signal }),
          previewErrors,
        );
        if (!fresh) return;
        fill(
          told,
          h("h3", { id: "told-heading" }, "The tutor is told"),
          fresh.told ? h("div", { class: "told-text" }, fresh.told) : h("p", { class: "empty" }, NOTHING_TOLD),
        );
        told.hidden = false;
        announce(fresh.told ? "Preview ready, below the button." : NOTHING_TOLD);
      },
    },
    h("h2", { id: "preview-heading" }, "Preview what the tutor is told"),
    h("p", { class: "meta" }, "Before each explanation the tutor gets a few lines about you, picked for the text it explains. Your corrections above change them."),
    about.field,
    previewErrors,
    h("div", { class: "actions" }, previewButton),
    told,
  );

  renderConcepts();
  fill(
    view,
    h("h1", {}, "What Tutor knows"),
    h(
      "p",
      {},
      "What Tutor has learned about you from your explanations and your cards. Where it is wrong, correct it: the tutor pitches its explanations by it.",
    ),
    h(
      "section",
      { "aria-labelledby": "concepts-heading", class: "knowledge-section" },
      h("h2", { id: "concepts-heading" }, "Concepts"),
      h(
        "p",
        { id: "mark-meanings", class: "meta" },
        "Your correction: “I know this” – build on it; “Treat as new” – explain it from the start; “Don't use” – don't tell the tutor about it; “—” – go by the evidence.",
      ),
      conceptList,
      addForm,
    ),
    h(
      "section",
      { "aria-labelledby": "misconceptions-heading", class: "knowledge-section" },
      h("h2", { id: "misconceptions-heading" }, "Misconceptions"),
      h("p", { class: "meta" }, "What critiques of your explanations found wrong. “Not mine / got it” stops the tutor bringing one up."),
      misconceptionList,
    ),
    previewForm,
  );
}
