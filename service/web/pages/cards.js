// The card library: search and filter (kept in the address), edit in place, suspend,
// accept, delete, review history; a card by hand; export and import (cardexchange.js).
import { api, listAll } from "../lib/api.js";
import { updateDueBadge } from "../lib/badge.js";
import { fill, formatDate, formatDateTime, h, labelled, plural, serverHtml, uniqueId } from "../lib/dom.js";
import { announce, errorBox, loading, whileBusy } from "../lib/ui.js";
import { cardEditForm, newCardForm } from "./cardeditor.js";
import { exchangeSection } from "./cardexchange.js";

const STATUSES = [
  { value: "", label: "All" },
  { value: "active", label: "Active" },
  { value: "draft", label: "Drafts" },
  { value: "suspended", label: "Suspended" },
];
// Each review on the scale of the scheduler that scheduled it: SM-2's grades 0–5, or
// FSRS's (Anki's) ratings.
const GRADES = ["0 · blackout", "1 · wrong", "2 · wrong but familiar", "3 · hard", "4 · good", "5 · easy"];
const RATINGS = { again: "Again", hard: "Hard", good: "Good", easy: "Easy" };
const ORIGINS = { distilled: "from a session", manual: "written by hand", imported: "imported" };
const FLAGS = {
  yes_no_question: "yes/no question",
  answer_too_long: "long answer",
  cloze_deletions: "needs exactly one {{c1::…}}",
  front_contains_back: "front gives the answer away",
  vague_stem: "vague question",
  list_answer: "list answer",
  multi_part_question: "asks two things",
  cloze_answer_elsewhere: "hidden words shown elsewhere",
};
const PAGE_SIZE = 50;
const TYPING_PAUSE_MS = 300;

function debounce(work, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => work(...args), ms);
  };
}

function days(count) {
  return plural(count, "day");
}

/** Where the card stands, in words. */
function scheduleWords(card) {
  if (card.status === "draft") return "Draft: not in reviews until accepted";
  if (card.status === "suspended") return "Suspended: out of reviews";
  const { due, interval } = card.schedule;
  if (!due) return "Active";
  return `Due ${formatDate(due)}${interval ? ` · every ${days(interval)}` : " · new"}`;
}

export async function render(view, { query, signal }) {
  const sources = await listAll("sources", { signal });
  const sourceTitles = new Map(sources.map((source) => [source.id, source.title]));
  const filters = {
    status: STATUSES.some((s) => s.value === query.get("status")) ? query.get("status") : "",
    q: query.get("q") ?? "",
    tag: query.get("tag") ?? "",
    source: query.get("source") ?? "",
  };
  let cards = [];
  let cursor = null;
  let loadController = null;
  // Counts the changes made from this page, so a list fetched before one is fetched again.
  let changes = 0;

  const list = h("ul", { class: "list", "aria-label": "Cards" });
  const summary = h("p", { class: "meta", role: "status" });
  const listErrors = h("div");
  const moreButton = h("button", { type: "button", hidden: true, onclick: () => load({ more: true }) }, "Load more");

  /** The filters go into the hash without a hashchange, so a reload shows the same cards. */
  function keepInAddress() {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
    const text = params.toString();
    history.replaceState(history.state, "", `#/cards${text ? `?${text}` : ""}`);
  }

  function apiPath() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filters.status) params.set("status", filters.status);
    if (filters.q.trim()) params.set("q", filters.q.trim());
    // Tags are stored with _ for spaces (as Anki wants), so "inference speed" finds inference_speed.
    if (filters.tag.trim()) params.set("tag", filters.tag.trim().split(/\s+/).join("_"));
    if (filters.source) params.set("source_id", filters.source);
    if (cursor) params.set("cursor", cursor);
    return `cards?${params}`;
  }

  function filtered() {
    return Boolean(filters.status || filters.q.trim() || filters.tag.trim() || filters.source);
  }

  async function load({ more = false } = {}) {
    loadController?.abort();
    const controller = new AbortController();
    loadController = controller;
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    if (!more) cursor = null;
    listErrors.replaceChildren();
    list.setAttribute("aria-busy", "true");
    const fetchPage = () => api.get(apiPath(), { signal: controller.signal });
    const changesBefore = changes;
    try {
      const page = more ? await whileBusy(moreButton, fetchPage, listErrors) : await fetchPage();
      if (!page || controller.signal.aborted) return;
      if (!more && changes !== changesBefore) {
        load(); // a card changed while this page was on its way: it may show the old card
        return;
      }
      cards = more ? [...cards, ...page.items] : page.items;
      cursor = page.next_cursor;
      renderList();
      if (more) list.children[cards.length - page.items.length]?.querySelector("button")?.focus();
    } catch (error) {
      if (error?.name === "AbortError") return;
      listErrors.replaceChildren(errorBox(error, { action: h("button", { type: "button", onclick: () => load() }, "Try again") }));
    } finally {
      if (loadController === controller) list.removeAttribute("aria-busy");
    }
  }

  function renderList() {
    moreButton.hidden = !cursor;
    summary.textContent = cards.length
      ? `Showing ${plural(cards.length, "card")}${cursor ? ", more below" : ""}.`
      : "";
    if (!cards.length) {
      fill(
        list,
        h(
          "li",
          { class: "empty" },
          filtered()
            ? "No cards match these filters."
            : "No cards yet: make some from a session (“Make cards”), write one below, or import a CSV.",
        ),
      );
      return;
    }
    fill(list, cards.map((card) => cardItem(card)));
  }

  function replaceCard(card, updated) {
    changes += 1;
    cards[cards.indexOf(card)] = updated;
    return updated;
  }

  function cardItem(initial) {
    let card = initial;
    const item = h("li", { dataset: { cardId: card.id } });
    const historyPanel = h("div", { id: uniqueId("history"), class: "card-history", hidden: true });
    const slot = h("div");

    function show(focusAction) {
      const frontId = uniqueId("front");
      const historyButton = h(
        "button",
        { type: "button", "data-action": "history", "aria-expanded": String(!historyPanel.hidden), "aria-controls": historyPanel.id, onclick: toggleHistory },
        "History",
      );
      fill(
        item,
        h(
          "article",
          { class: "item card-item", "aria-labelledby": frontId, dataset: { status: card.status } },
          serverHtml("div", card.front_html, { id: frontId, class: "card-front" }),
          card.back_html ? serverHtml("div", card.back_html, { class: "card-back" }) : null,
          h(
            "p",
            { class: "meta" },
            h("span", { class: `card-status status-${card.status}` }, scheduleWords(card)),
            ` · ${card.kind === "cloze" ? "Cloze" : "Basic"} · ${ORIGINS[card.origin] ?? card.origin}`,
            card.source_id && sourceTitles.has(card.source_id) ? ` · ${sourceTitles.get(card.source_id)}` : "",
          ),
          card.tags.length || card.quality_flags.length
            ? h(
                "p",
                { class: "card-tags" },
                card.tags.map((tag) => h("span", { class: "tag" }, tag)),
                card.quality_flags.map((flag) => h("span", { class: "flag" }, FLAGS[flag] ?? flag)),
              )
            : null,
          h(
            "div",
            { class: "actions" },
            h("button", { type: "button", "data-action": "edit", onclick: showEdit }, "Edit"),
            card.status === "draft" ? h("button", { type: "button", class: "primary", "data-action": "accept", onclick: (e) => move(e, "active", "Accepted") }, "Accept") : null,
            card.status === "active" ? h("button", { type: "button", "data-action": "suspend", onclick: (e) => move(e, "suspended", "Suspended") }, "Suspend") : null,
            card.status === "suspended" ? h("button", { type: "button", "data-action": "unsuspend", onclick: (e) => move(e, "active", "Unsuspended") }, "Unsuspend") : null,
            historyButton,
            h("button", { type: "button", class: "danger", "data-action": "delete", onclick: remove }, "Delete"),
          ),
          slot,
          historyPanel,
        ),
      );
      if (focusAction) item.querySelector(`[data-action="${focusAction}"]`)?.focus();
    }

    function showEdit() {
      const editor = cardEditForm(card, {
        signal,
        onSaved: (updated) => {
          card = replaceCard(card, updated);
          show("edit");
          announce("Card saved.");
        },
        onCancel: () => show("edit"),
      });
      fill(item, h("div", { class: "item card-item" }, editor.form));
      editor.focus();
    }

    async function move(event, status, done) {
      const updated = await whileBusy(event.currentTarget, () => api.patch(`cards/${card.id}`, { status }, { signal }), slot);
      if (!updated) return;
      card = replaceCard(card, updated);
      show(status === "suspended" ? "unsuspend" : "suspend");
      announce(`${done}.`);
      updateDueBadge();
    }

    async function remove(event) {
      if (!confirm("Delete this card and its review history? This cannot be undone.")) return;
      const deleted = await whileBusy(event.currentTarget, () => api.delete(`cards/${card.id}`, { signal }).then(() => true), slot);
      if (!deleted) return;
      const index = cards.indexOf(card);
      changes += 1;
      cards.splice(index, 1);
      renderList();
      announce("Card deleted.");
      updateDueBadge();
      (list.children[index] ?? list.children[index - 1])?.querySelector("button")?.focus();
    }

    async function toggleHistory(event) {
      const button = event.currentTarget;
      const opening = historyPanel.hidden;
      historyPanel.hidden = !opening;
      button.setAttribute("aria-expanded", String(opening));
      if (!opening) return;
      fill(historyPanel, loading("Loading the reviews"));
      try {
        const { items } = await api.get(`cards/${card.id}/reviews`, { signal });
        fill(historyPanel, historyList(items));
      } catch (error) {
        if (error?.name !== "AbortError") fill(historyPanel, errorBox(error));
      }
    }

    show();
    return item;
  }

  function historyList(reviews) {
    if (!reviews.length) return h("p", { class: "empty" }, "Not reviewed yet.");
    return h(
      "ol",
      { class: "history", "aria-label": "Reviews, oldest first" },
      reviews.map((review) =>
        h(
          "li",
          {},
          h("time", { datetime: review.reviewed_at }, formatDateTime(review.reviewed_at)),
          review.scheduler === "fsrs"
            ? ` · rated ${RATINGS[review.rating] ?? review.rating} (FSRS)`
            : ` · grade ${GRADES[review.grade] ?? review.grade}`,
          review.drill ? " · drill" : ` · next in ${days(review.after.interval ?? 0)}`,
        ),
      ),
    );
  }

  // Filters
  const statusPicker = h(
    "fieldset",
    { class: "segmented", role: "radiogroup" },
    h("legend", { class: "visually-hidden" }, "Status"),
    STATUSES.map((status) =>
      h("label", {}, h("input", { type: "radio", name: "card-status", value: status.value, checked: status.value === filters.status }), h("span", {}, status.label)),
    ),
  );
  statusPicker.addEventListener(
    "change",
    (event) => {
      filters.status = event.target.value;
      keepInAddress();
      load();
    },
    { signal },
  );
  const search = labelled("Search", h("input", { type: "search", name: "q", value: filters.q, maxlength: 200, autocomplete: "off", placeholder: "Words on either side" }));
  const tag = labelled("Tag", h("input", { type: "search", name: "tag", value: filters.tag, maxlength: 100, autocomplete: "off" }));
  const sourceFilter = labelled(
    "Source",
    h(
      "select",
      { name: "source" },
      h("option", { value: "" }, "Any source"),
      sources.map((source) => h("option", { value: source.id, selected: source.id === filters.source }, source.title)),
      filters.source && !sourceTitles.has(filters.source) ? h("option", { value: filters.source, selected: true }, "A deleted source") : null,
    ),
  );
  const typed = debounce(load, TYPING_PAUSE_MS);
  for (const [control, name] of [[search.control, "q"], [tag.control, "tag"]]) {
    control.addEventListener(
      "input",
      () => {
        filters[name] = control.value;
        keepInAddress();
        typed();
      },
      { signal },
    );
  }
  sourceFilter.control.addEventListener(
    "change",
    () => {
      filters.source = sourceFilter.control.value;
      keepInAddress();
      load();
    },
    { signal },
  );

  const creator = newCardForm({
    sources,
    sourceId: filters.source,
    signal,
    onCreated: () => {
      announce("Card added.");
      updateDueBadge();
      // The new card is newest, so it leads the list whenever it matches the filters.
      load();
    },
  });
  const newCard = h(
    "details",
    { class: "item new-card-box", open: creator.hasDraft },
    h("summary", {}, "New card"),
    creator.form,
  );

  const filterBar = h(
    "div",
    { role: "search", class: "toolbar card-filters", "aria-label": "Filter cards" },
    h("div", { class: "field" }, h("span", { class: "field-label", "aria-hidden": "true" }, "Status"), statusPicker),
    search.field,
    tag.field,
    sourceFilter.field,
  );

  fill(
    view,
    h("h1", {}, "Cards"),
    newCard,
    filterBar,
    summary,
    listErrors,
    list,
    h("div", { class: "actions" }, moreButton),
    exchangeSection({
      signal,
      onImported: () => {
        load();
        updateDueBadge();
      },
    }),
  );
  fill(list, h("li", {}, loading("Loading the cards")));
  await load();
}
