// The reading queue: papers, videos, posts to read; their status; a session about one.
import { api, sessionTitleFrom } from "../lib/api.js";
import { clearDraft, keepDraft } from "../lib/drafts.js";
import { fill, h, labelled, uniqueId } from "../lib/dom.js";
import { navigate } from "../lib/router.js";
import { announce, errorBox, loading, whileBusy } from "../lib/ui.js";

const STATUSES = [
  { value: "queued", label: "To read" },
  { value: "reading", label: "Reading" },
  { value: "done", label: "Done" },
];
const STATUS_LABELS = Object.fromEntries(STATUSES.map((s) => [s.value, s.label]));
const KINDS = [
  { value: "paper", label: "Paper" },
  { value: "video", label: "Video" },
  { value: "post", label: "Post" },
  { value: "book", label: "Book" },
  { value: "code", label: "Code" },
  { value: "other", label: "Other" },
];
const KIND_LABELS = Object.fromEntries(KINDS.map((k) => [k.value, k.label]));
const PAGE_SIZE = 50;

function options(choices, selected) {
  return choices.map((choice) => h("option", { value: choice.value, selected: choice.value === selected }, choice.label));
}

/** Title, link, kind and notes: the fields shared by "Add" and "Edit". */
function sourceFields(source = {}) {
  return {
    title: labelled("Title", h("input", { name: "title", required: true, maxlength: 300, value: source.title ?? "", autocomplete: "off" })),
    url: labelled("Link (optional)", h("input", { name: "url", type: "url", maxlength: 2048, value: source.url ?? "", placeholder: "https://…" })),
    kind: labelled("Kind", h("select", { name: "kind" }, options(KINDS, source.kind ?? "paper"))),
    notes: labelled("Notes (optional)", h("textarea", { name: "notes", rows: 3, maxlength: 20000, value: source.notes ?? "" })),
  };
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function bodyOf(fields) {
  return {
    title: fields.title.control.value.trim(),
    url: fields.url.control.value.trim() || null,
    kind: fields.kind.control.value,
    notes: fields.notes.control.value,
  };
}

// Sources asked about in one GET /v1/documents (its limit, a page of sources).
const DOCUMENTS_AT_ONCE = 100;

/** A source's paper: a link to read it, and how the reading goes if it is not ready. */
function showReading(reading, doc) {
  const state = { pending: "The paper is being read.", extracting: "The paper is being read.", failed: "The paper could not be read." }[doc.status];
  fill(
    reading,
    h("a", { class: "button", href: `#/sources/${doc.source_id}/paper`, "data-action": "read" }, "Read"),
    state ? h("span", { class: "meta" }, ` ${state}`) : null,
  );
}

export async function render(view, { signal }) {
  let statusFilter = "";
  let sources = [];
  let cursor = null;
  let loadController = null;
  const list = h("ul", { class: "list", "aria-label": "Sources" });
  const listErrors = h("div");
  const moreButton = h("button", { type: "button", hidden: true, onclick: () => load({ more: true }) }, "Load more");

  async function load({ more = false } = {}) {
    loadController?.abort();
    const controller = new AbortController();
    loadController = controller;
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (statusFilter) params.set("status", statusFilter);
    if (more && cursor) params.set("cursor", cursor);
    listErrors.replaceChildren();
    const fetchPage = () => api.get(`sources?${params}`, { signal: controller.signal });
    try {
      const page = more ? await whileBusy(moreButton, fetchPage, listErrors) : await fetchPage();
      if (!page || controller.signal.aborted) return;
      const before = sources.length;
      sources = more ? [...sources, ...page.items] : page.items;
      cursor = page.next_cursor;
      renderList();
      if (more) list.children[before]?.querySelector("a, button")?.focus();
    } catch (error) {
      if (error?.name === "AbortError") return;
      listErrors.replaceChildren(errorBox(error, { action: h("button", { type: "button", onclick: () => load() }, "Try again") }));
    }
  }

  function renderList() {
    moreButton.hidden = !cursor;
    if (!sources.length) {
      fill(list, h("li", { class: "empty" }, statusFilter ? `Nothing is marked “${STATUS_LABELS[statusFilter]}”.` : "Nothing in the queue yet: add a paper, video or post above."));
      return;
    }
    const readings = new Map();
    fill(list, sources.map((source) => sourceItem(source, readings)));
    showDocuments(readings);
  }

  /** Which of the listed sources have a paper, and how its reading goes: one request for
   *  a page of sources (GET /v1/documents), not one per source. */
  async function showDocuments(readings) {
    const ids = [...readings.keys()];
    for (let start = 0; start < ids.length; start += DOCUMENTS_AT_ONCE) {
      const asked = ids.slice(start, start + DOCUMENTS_AT_ONCE);
      let states;
      try {
        states = await api.get(`documents?${new URLSearchParams(asked.map((id) => ["source_id", id]))}`, { signal });
      } catch (error) {
        if (error?.name === "AbortError") return;
        for (const id of asked) fill(readings.get(id), h("span", { class: "meta" }, "Its paper could not be checked."));
        continue;
      }
      for (const doc of states.documents) showReading(readings.get(doc.source_id), doc);
    }
  }

  function sourceItem(initial, readings) {
    let source = initial;
    const item = h("li", { class: "item source-item", dataset: { sourceId: source.id } });
    const slot = h("div");
    // Filled once the source's document is known: a link to read it, and how the reading goes.
    const reading = h("span", { class: "reading" });
    readings.set(source.id, reading);

    function show(focusSelector) {
      const titleId = uniqueId("source");
      const status = h("select", { "aria-label": `Status of ${source.title}`, onchange: changeStatus }, options(STATUSES, source.status));
      fill(
        item,
        h(
          "article",
          { "aria-labelledby": titleId },
          h("h2", { id: titleId }, source.url ? h("a", { href: source.url, rel: "noopener noreferrer", target: "_blank" }, source.title) : source.title),
          h("p", { class: "meta" }, KIND_LABELS[source.kind] ?? source.kind, source.url ? ` · ${hostOf(source.url)}` : ""),
          source.notes ? h("p", { class: "source-notes" }, source.notes) : null,
          h(
            "div",
            { class: "actions" },
            status,
            reading,
            h("button", { type: "button", class: "primary", "data-action": "start", onclick: startSession }, "Start a session"),
            h("a", { class: "button", href: `#/cards?source=${encodeURIComponent(source.id)}` }, "Cards"),
            h("button", { type: "button", "data-action": "pdf", "aria-expanded": "false", onclick: showUpload }, "Add PDF"),
            h("button", { type: "button", "data-action": "edit", onclick: showEdit }, "Edit"),
            h("button", { type: "button", class: "danger", "data-action": "delete", onclick: remove }, "Delete"),
          ),
          slot,
        ),
      );
      if (focusSelector) item.querySelector(focusSelector)?.focus();
    }

    async function changeStatus(event) {
      const select = event.currentTarget;
      const wanted = select.value;
      const updated = await whileBusy(select, () => api.patch(`sources/${source.id}`, { status: wanted }, { signal }), slot);
      if (!updated) {
        select.value = source.status;
        return;
      }
      source = updated;
      sources[sources.findIndex((candidate) => candidate.id === updated.id)] = updated;
      announce(`“${source.title}” is now ${STATUS_LABELS[source.status]}.`);
    }

    async function startSession(event) {
      const session = await whileBusy(event.currentTarget, () => api.post("sessions", { source_id: source.id, title: sessionTitleFrom(source.title) }, { signal }), slot);
      if (session) navigate(`/sessions/${session.id}`);
    }

    function showUpload(event) {
      const toggle = event.currentTarget;
      if (slot.querySelector("form")) {
        fill(slot);
        toggle.setAttribute("aria-expanded", "false");
        return;
      }
      toggle.setAttribute("aria-expanded", "true");
      const file = labelled(
        `PDF of “${source.title}”`,
        h("input", { type: "file", name: "file", accept: ".pdf,application/pdf", required: true }),
        "Tutor reads it into sections and equations; you read it here and pick passages to explain.",
      );
      const errors = h("div");
      const upload = h("button", { type: "submit", class: "primary" }, "Upload and read");
      const form = h(
        "form",
        {
          "aria-label": `Add a PDF to ${source.title}`,
          onsubmit: async (submitted) => {
            submitted.preventDefault();
            const chosen = file.control.files[0];
            if (!chosen) return;
            const data = new FormData();
            data.append("file", chosen, chosen.name);
            const doc = await whileBusy(upload, () => api.upload(`sources/${source.id}/document`, data, { signal }), errors);
            if (doc) navigate(`/sources/${source.id}/paper`);
          },
        },
        file.field,
        h("div", { class: "actions" }, upload),
        errors,
      );
      fill(slot, form);
      file.control.focus();
    }

    function showEdit() {
      const fields = sourceFields(source);
      const errors = h("div");
      const save = h("button", { type: "submit", class: "primary" }, "Save");
      const cancel = () => show('[data-action="edit"]');
      const form = h(
        "form",
        {
          "aria-label": `Edit ${source.title}`,
          onsubmit: async (event) => {
            event.preventDefault();
            const updated = await whileBusy(save, () => api.patch(`sources/${source.id}`, bodyOf(fields), { signal }), errors);
            if (!updated) return;
            source = updated;
            sources[sources.findIndex((candidate) => candidate.id === updated.id)] = updated;
            show('[data-action="edit"]');
            announce("Source saved.");
          },
          onkeydown: (event) => {
            if (event.key === "Escape") {
              event.preventDefault();
              cancel();
            }
          },
        },
        fields.title.field,
        fields.url.field,
        fields.kind.field,
        fields.notes.field,
        h("div", { class: "actions" }, save, h("button", { type: "button", onclick: cancel }, "Cancel")),
        errors,
      );
      fill(item, form);
      fields.title.control.focus();
    }

    async function remove(event) {
      if (!confirm(`Delete “${source.title}”? Its sessions and cards stay, no longer linked to it.`)) return;
      const deleted = await whileBusy(event.currentTarget, () => api.delete(`sources/${source.id}`, { signal }).then(() => true), slot);
      if (!deleted) return;
      const index = sources.findIndex((candidate) => candidate.id === source.id);
      sources.splice(index, 1);
      renderList();
      announce(`Deleted “${source.title}”.`);
      (list.children[index] ?? list.children[index - 1])?.querySelector("button, a")?.focus();
    }

    show();
    return item;
  }

  // Add a source: by its title, or a paper by its arXiv id (Tutor fetches and reads it).
  const fields = sourceFields();
  const arxiv = labelled(
    "arXiv id (optional)",
    h("input", { name: "arxiv", maxlength: 300, autocomplete: "off", placeholder: "1706.03762" }),
    "Or its arxiv.org address. Tutor fetches the paper and reads it; the title can stay empty.",
  );
  arxiv.control.addEventListener("input", () => { fields.title.control.required = !arxiv.control.value.trim(); }, { signal });
  const addStatus = h("p", { class: "busy-status", role: "status" });
  keepDraft(fields.title.control, "source.title", { signal });
  keepDraft(fields.url.control, "source.url", { signal });
  keepDraft(fields.notes.control, "source.notes", { signal });
  const addErrors = h("div");
  const add = h("button", { type: "submit", class: "primary" }, "Add to the queue");
  const addForm = h(
    "form",
    {
      class: "item",
      "aria-labelledby": "add-source-heading",
      onsubmit: async (event) => {
        event.preventDefault();
        const wanted = bodyOf(fields);
        const arxivId = arxiv.control.value.trim();
        if (arxivId) {
          wanted.arxiv = arxivId;
          if (!wanted.title) delete wanted.title;
          addStatus.textContent = "Fetching the paper from arXiv…";
        }
        const created = await whileBusy(add, () => api.post("sources", wanted, { signal }), addErrors);
        addStatus.textContent = "";
        if (!created) return;
        arxiv.control.value = "";
        fields.title.control.required = true;
        clearDraft(fields.title.control, "source.title");
        clearDraft(fields.url.control, "source.url");
        clearDraft(fields.notes.control, "source.notes");
        announce(arxivId ? `Added “${created.title}”: Tutor is reading the paper.` : `Added “${created.title}”.`);
        if (!statusFilter || statusFilter === created.status) {
          sources.unshift(created);
          renderList();
        }
        fields.title.control.focus();
      },
    },
    h("h2", { id: "add-source-heading" }, "Add a source"),
    arxiv.field,
    fields.title.field,
    fields.url.field,
    h("div", { class: "field-row" }, fields.kind.field),
    fields.notes.field,
    h("div", { class: "actions" }, add, addStatus),
    addErrors,
  );

  const filter = h(
    "fieldset",
    { class: "segmented", role: "radiogroup" },
    h("legend", { class: "visually-hidden" }, "Show"),
    [{ value: "", label: "All" }, ...STATUSES].map((status) =>
      h("label", {}, h("input", { type: "radio", name: "source-status", value: status.value, checked: status.value === statusFilter }), h("span", {}, status.label)),
    ),
  );
  filter.addEventListener(
    "change",
    (event) => {
      statusFilter = event.target.value;
      load();
    },
    { signal },
  );

  fill(
    view,
    h("h1", {}, "Sources"),
    addForm,
    h("h2", {}, "Your reading queue"),
    h("div", { class: "toolbar" }, filter),
    listErrors,
    list,
    h("div", { class: "actions" }, moreButton),
  );
  fill(list, h("li", {}, loading("Loading the queue")));
  await load();
}
