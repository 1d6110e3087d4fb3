// "Make cards": distil the session into draft flashcards, then accept, edit or reject them.
import { api, listAll } from "../lib/api.js";
import { fill, h, labelled, plural, serverHtml, uniqueId } from "../lib/dom.js";
import { announce, errorBox, whileBusy } from "../lib/ui.js";

const FLAGS = {
  yes_no_question: "Yes/no question",
  answer_too_long: "Answer over 25 words",
  cloze_deletions: "Needs exactly one {{c1::…}}",
  front_contains_back: "Front gives away the answer",
  empty_side: "A side is empty",
  vague_stem: "Vague question: ask for one thing",
  list_answer: "A list: one card per item",
  multi_part_question: "Asks two things",
  cloze_answer_elsewhere: "The hidden words show elsewhere",
};
const KINDS = { basic: "Basic", cloze: "Cloze" };

const flagWords = (flag) => FLAGS[flag] ?? flag.replaceAll("_", " ");
const parseTags = (text) => text.split(",").map((tag) => tag.trim()).filter(Boolean);

export async function renderTab(panel, { session, signal }) {
  const draftsPath = `cards?status=draft&session_id=${encodeURIComponent(session.id)}`;
  let drafts = await listAll(draftsPath, { signal });
  let accepted = (await api.get(`cards?status=active&session_id=${encodeURIComponent(session.id)}&limit=1`, { signal })).items.length;
  let fresh = new Set(); // ids from the latest distillation, marked "New"

  const alerts = h("div");
  const summary = h("div", { class: "distill-summary" });
  const countHeading = h("h2", { id: "drafts-heading", tabindex: "-1" });
  const acceptAll = h("button", { type: "button", class: "primary", onclick: () => acceptEverything(acceptAll, false) });
  // "Accept all" leaves flagged drafts for the learner to read; this takes them too.
  const acceptFlagged = h("button", { type: "button", onclick: () => acceptEverything(acceptFlagged, true) }, "Accept the flagged ones too");
  const flaggedCount = h("p");
  const flaggedNotice = h("div", { class: "notice flagged-left" }, flaggedCount, h("div", { class: "actions" }, acceptFlagged));
  let flaggedLeft = false; // an "Accept all" left flagged drafts, and said so
  const list = h("ul", { class: "list drafts", "aria-labelledby": "drafts-heading" });
  const listAlerts = h("div");
  const empty = h("div", { class: "empty-state" });

  // Distil.
  const maxCards = labelled(
    "Cards at most",
    h("input", { type: "number", name: "max_cards", min: 1, max: 30, step: 1, value: "10", required: true, inputmode: "numeric" }),
  );
  const distilButton = h("button", { type: "submit", class: "primary" }, "Distil this session");
  const status = h("p", { class: "busy-status", role: "status" });
  const form = h(
    "form",
    {
      class: "item distill",
      "aria-label": "Distil this session",
      onsubmit: async (event) => {
        event.preventDefault();
        status.textContent = "The tutor is writing cards… this can take a minute.";
        form.setAttribute("aria-busy", "true");
        await whileBusy(distilButton, () => distil(Number(maxCards.control.value)), alerts);
        form.removeAttribute("aria-busy");
        status.textContent = "";
      },
    },
    h("h2", {}, "Make cards from this session"),
    h("p", { class: "hint" }, "The tutor proposes flashcards from this session, your mistakes in “Explain it back” first. They stay drafts until you accept them; only accepted cards come up in Review."),
    h("div", { class: "toolbar" }, maxCards.field, distilButton, status),
  );

  async function distil(max_cards) {
    const result = await api.post(`sessions/${session.id}/distill`, { max_cards }, { signal });
    fresh = new Set(result.cards.map((card) => card.id));
    flaggedLeft = false;
    drafts = await listAll(draftsPath, { signal });
    await renderSummary(result);
    renderDrafts();
    const skipped = result.skipped.length ? `, ${result.skipped.length} left out` : "";
    announce(`${plural(result.cards.length, "new draft")}${skipped}.`);
  }

  async function describeDuplicate(skipped) {
    if (!skipped.duplicate_of) return h("span", {}, " — already a card.");
    const existing = await api.get(`cards/${skipped.duplicate_of}`, { signal }).catch(() => null);
    if (!existing) return h("span", {}, " — already a card.");
    const where = existing.status === "draft" ? "a draft" : existing.status === "suspended" ? "a suspended card" : "a card";
    return h(
      "span",
      {},
      ` — duplicate of ${where}: `,
      h("a", { href: `#/cards?q=${encodeURIComponent(existing.front.slice(0, 100))}` }, existing.front),
    );
  }

  async function renderSummary(result) {
    const skippedItems = await Promise.all(
      result.skipped.map(async (skipped) =>
        h(
          "li",
          { dataset: { reason: skipped.reason } },
          h("q", {}, skipped.front),
          skipped.reason === "duplicate"
            ? await describeDuplicate(skipped)
            : h("span", {}, " — left out: ", skipped.quality_flags.length ? skipped.quality_flags.map(flagWords).join(", ") : "low quality"),
        ),
      ),
    );
    fill(
      summary,
      h(
        "div",
        { class: "notice" },
        h("p", {}, result.cards.length ? `${plural(result.cards.length, "new draft")} below, marked “New”.` : "No new drafts: the tutor found nothing new to ask about."),
        skippedItems.length ? [h("p", {}, `Left out (${skippedItems.length}):`), h("ul", { class: "skipped" }, skippedItems)] : null,
      ),
    );
  }

  function cardView(card, item) {
    const frontId = uniqueId("front");
    return [
      h(
        "p",
        { class: "meta" },
        fresh.has(card.id) ? h("span", { class: "flag new" }, "New") : null,
        h("span", {}, KINDS[card.kind] ?? card.kind),
        card.tags.length ? [" · ", card.tags.map((tag) => h("span", { class: "tag" }, tag))] : null,
      ),
      h("div", { class: "side" }, h("span", { class: "side-label" }, "Front"), serverHtml("div", card.front_html, { id: frontId, class: "body" })),
      h("div", { class: "side" }, h("span", { class: "side-label" }, "Back"), serverHtml("div", card.back_html, { class: "body" })),
      card.quality_flags.length
        ? h("p", { class: "flags" }, h("span", { class: "visually-hidden" }, "Check: "), card.quality_flags.map((flag) => h("span", { class: "flag", dataset: { flag } }, flagWords(flag))))
        : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "primary", "aria-describedby": frontId, onclick: (event) => accept(card, item, event.currentTarget) }, "Accept"),
        h("button", { type: "button", "aria-describedby": frontId, "data-edit": true, onclick: () => edit(card, item) }, "Edit"),
        h("button", { type: "button", class: "danger", "aria-describedby": frontId, onclick: (event) => reject(card, item, event.currentTarget) }, "Reject"),
      ),
      h("div", { class: "item-alerts" }),
    ];
  }

  function draftItem(card) {
    const item = h("li", { class: "item draft", dataset: { cardId: card.id } });
    fill(item, cardView(card, item));
    return item;
  }

  function edit(card, item) {
    const front = labelled("Front", h("textarea", { rows: 3, required: true, value: card.front }));
    const back = labelled(card.kind === "cloze" ? "Extra (shown with the answer)" : "Back", h("textarea", { rows: 3, value: card.back }));
    const tags = labelled("Tags", h("input", { value: card.tags.join(", "), autocomplete: "off" }), "Separated by commas.");
    const errors = h("div");
    const save = h("button", { type: "submit", class: "primary" }, "Save");
    const cancel = () => {
      fill(item, cardView(card, item));
      item.querySelector("[data-edit]").focus();
    };
    const form = h(
      "form",
      {
        class: "edit-card",
        "aria-label": "Edit draft",
        onsubmit: async (event) => {
          event.preventDefault();
          const changes = { front: front.control.value, back: back.control.value, tags: parseTags(tags.control.value) };
          const saved = await whileBusy(save, () => api.patch(`cards/${card.id}`, changes, { signal }), errors);
          if (!saved) return; // the error is shown; the edits stay in the form
          drafts = drafts.map((other) => (other.id === saved.id ? saved : other));
          fill(item, cardView(saved, item));
          updateCounts(); // an edit may have cleared the draft's flags
          item.querySelector("[data-edit]").focus();
          announce("Draft saved.");
        },
        onkeydown: (event) => {
          if (event.key === "Escape") cancel();
        },
      },
      front.field,
      back.field,
      tags.field,
      errors,
      h("div", { class: "actions" }, save, h("button", { type: "button", onclick: cancel }, "Cancel")),
    );
    fill(item, form);
    front.control.focus();
  }

  /** Takes a handled draft off the list and puts focus where the learner can go on. */
  function removeItem(card, item) {
    const next = item.nextElementSibling ?? item.previousElementSibling;
    drafts = drafts.filter((other) => other.id !== card.id);
    item.remove();
    updateCounts();
    (next?.querySelector("button") ?? countHeading).focus();
  }

  async function accept(card, item, button) {
    const done = await whileBusy(button, () => api.patch(`cards/${card.id}`, { status: "active" }, { signal }), item.querySelector(".item-alerts"));
    if (!done) return;
    accepted += 1;
    removeItem(card, item);
    announce("Accepted: the card is in your reviews from today.");
  }

  async function reject(card, item, button) {
    if (!window.confirm("Reject this draft? It will be deleted.")) return;
    const done = await whileBusy(button, async () => (await api.delete(`cards/${card.id}`, { signal }), true), item.querySelector(".item-alerts"));
    if (!done) return;
    removeItem(card, item);
    announce("Draft rejected.");
  }

  /** Accepts the session's drafts on the server, which leaves the flagged ones unless asked. */
  async function acceptEverything(button, includeFlagged) {
    const before = drafts.length;
    const body = { all: true, session_id: session.id, include_flagged: includeFlagged };
    const result = await whileBusy(button, () => api.post("cards/accept", body, { signal }), listAlerts);
    // The server's list is the truth (a failure may come after the commit): read it again.
    drafts = await listAll(draftsPath, { signal }).catch(() => drafts);
    accepted += before - drafts.length;
    if (result) flaggedLeft = result.skipped_flagged > 0;
    renderDrafts();
    countHeading.focus();
    if (!result) return;
    const left = result.skipped_flagged ? `; ${plural(result.skipped_flagged, "flagged draft")} left for you to read` : "";
    announce(`Accepted ${plural(result.cards.length, "card")}${left}.`);
  }

  function updateCounts() {
    const flagged = drafts.filter((card) => card.quality_flags.length).length;
    countHeading.textContent = drafts.length ? `Drafts from this session (${drafts.length})` : "Drafts from this session";
    acceptAll.textContent = `Accept all ${drafts.length}`;
    // Once "Accept all" has left only flagged drafts, pressing it again would do nothing.
    acceptAll.hidden = drafts.length < 2 || (flaggedLeft && flagged === drafts.length);
    flaggedNotice.hidden = !(flaggedLeft && flagged);
    flaggedCount.textContent = `${plural(flagged, "flagged draft")} left for you to read.`;
    list.hidden = !drafts.length;
    if (drafts.length) {
      fill(empty);
    } else if (accepted) {
      fill(empty, h("p", { class: "empty" }, "No drafts waiting. Your accepted cards come up in ", h("a", { href: "#/review" }, "Review"), "; all your cards are in ", h("a", { href: "#/cards" }, "Cards"), "."));
    } else {
      fill(empty, h("p", { class: "empty" }, "No drafts yet. Press “Distil this session” above to get some, or add passages in the ", h("a", { href: `#/sessions/${session.id}` }, "Chat"), " tab first."));
    }
  }

  function renderDrafts() {
    // The newest distillation first, as the API lists them.
    fill(list, drafts.map(draftItem));
    updateCounts();
  }

  renderDrafts();
  fill(
    panel,
    form,
    alerts,
    summary,
    h("section", { class: "drafts-section", "aria-labelledby": "drafts-heading" }, h("div", { class: "actions" }, countHeading, acceptAll), flaggedNotice, listAlerts, list, empty),
  );
}
