// The reader of a source's paper: an upload form while it has none, the reading's
// progress while it is read (or why it failed), then the paper (pages/paper.js).
// At #/sources/<id>/paper/<block>?last=<block> it opens at a passage and marks it.
import { api } from "../lib/api.js";
import { fill, h, labelled } from "../lib/dom.js";
import { announce, errorBox, whileBusy } from "../lib/ui.js";
import { PAGE_SIZE, paperView } from "./paper.js";

const POLL_MS = 1000;
const RUNNING = new Set(["pending", "extracting"]);

/** `?last=` from a card's link, or the block itself: the passage to mark. */
function targetOf(params, query) {
  const first = Number.parseInt(params.block ?? "", 10);
  if (!Number.isInteger(first) || first < 0) return null;
  const last = Number.parseInt(query.get("last") ?? "", 10);
  return { first, last: Number.isInteger(last) && last >= first ? last : first };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export async function render(view, { params, query, signal }) {
  const sourceId = params.id;
  const target = targetOf(params, query);
  const start = target?.first ?? 0;
  const source = await api.get(`sources/${sourceId}`, { signal });
  const heading = h("h1", {}, source.title);
  const body = h("div", { class: "reader" });
  fill(view, h("p", { class: "meta" }, h("a", { href: "#/sources" }, "← Sources")), heading, body);

  const documentPath = (from, limit = PAGE_SIZE) => `sources/${sourceId}/document?from_block=${from}&limit=${limit}`;

  /** The document, or null when the source has none yet. */
  async function fetchDocument() {
    try {
      return await api.get(documentPath(start), { signal });
    } catch (error) {
      if (error.code === "no_document") return null;
      throw error;
    }
  }

  function show(doc, { moved = false } = {}) {
    if (!doc) showUpload();
    else if (RUNNING.has(doc.status)) showProgress(doc);
    else if (doc.status === "failed") showFailed(doc);
    else showPaper(doc, { moved });
  }

  function uploadForm({ replacing }) {
    const file = labelled(
      replacing ? "Another PDF of the paper" : "PDF of the paper",
      h("input", { type: "file", name: "file", accept: ".pdf,application/pdf", required: true }),
      "At most 50 MiB. Tutor reads it into sections, paragraphs and numbered equations.",
    );
    const errors = h("div");
    const submit = h("button", { type: "submit", class: "primary" }, replacing ? "Upload this PDF instead" : "Upload and read");
    const form = h(
      "form",
      {
        class: "item",
        "aria-label": "Upload a PDF",
        onsubmit: async (event) => {
          event.preventDefault();
          const chosen = file.control.files[0];
          if (!chosen) return;
          const data = new FormData();
          data.append("file", chosen, chosen.name);
          const doc = await whileBusy(submit, () => api.upload(`sources/${sourceId}/document`, data, { signal }), errors);
          if (!doc) return;
          announce("Uploaded. Tutor is reading the paper.");
          show(doc);
        },
      },
      h("h2", {}, replacing ? "Try another PDF" : "Add the paper's PDF"),
      file.field,
      h("div", { class: "actions" }, submit),
      errors,
    );
    return form;
  }

  function showUpload() {
    fill(
      body,
      h("p", {}, "This source has no paper to read yet: upload its PDF, or add the paper by its arXiv id on the ", h("a", { href: "#/sources" }, "Sources page"), "."),
      uploadForm({ replacing: false }),
    );
  }

  // Pending or extracting: a progress bar with what is being done, asked again each second.
  let following = false;
  const bar = h("div");
  const progress = h("div", { class: "progress", role: "progressbar", "aria-label": "Reading the paper", "aria-valuemin": "0", "aria-valuemax": "100" }, bar);
  const stage = h("p", { class: "reader-stage", role: "status" });
  const followErrors = h("div");

  function updateProgress(doc) {
    const percent = Math.round(100 * doc.progress);
    progress.setAttribute("aria-valuenow", String(percent));
    progress.setAttribute("aria-valuetext", `${percent}%: ${doc.stage}`);
    bar.style.width = `${percent}%`;
    if (stage.textContent !== `${doc.stage}…`) stage.textContent = `${doc.stage}…`;
  }

  function showProgress(doc) {
    updateProgress(doc);
    fill(
      body,
      h("section", { class: "item reader-progress", "aria-labelledby": "reader-progress-heading", dataset: { status: doc.status } },
        h("h2", { id: "reader-progress-heading" }, "Reading the paper"),
        progress,
        stage,
        h("p", { class: "hint" }, "It takes a few seconds for most papers; this page shows the paper once it is read."),
        followErrors,
      ),
    );
    if (!following) follow();
  }

  async function follow() {
    following = true;
    try {
      for (;;) {
        await sleep(POLL_MS, signal);
        if (signal.aborted) return;
        let doc;
        try {
          doc = await api.get(documentPath(start), { signal });
        } catch (error) {
          if (error?.name === "AbortError") return;
          followErrors.replaceChildren(errorBox(error, { action: h("button", { type: "button", onclick: () => { followErrors.replaceChildren(); follow(); } }, "Try again") }));
          return;
        }
        if (RUNNING.has(doc.status)) {
          body.querySelector(".reader-progress")?.setAttribute("data-status", doc.status);
          updateProgress(doc);
          continue;
        }
        announce(doc.status === "ready" ? "The paper is ready." : "The paper could not be read.");
        show(doc, { moved: true });
        return;
      }
    } finally {
      following = false;
    }
  }

  function showFailed(doc) {
    const errors = h("div");
    const again = h(
      "button",
      {
        type: "button",
        class: "primary",
        onclick: async () => {
          const restarted = await whileBusy(again, () => api.post(`sources/${sourceId}/document/extract`, {}, { signal }), errors);
          if (restarted) show(restarted);
        },
      },
      "Try again",
    );
    fill(
      body,
      h(
        "div",
        { class: "error", role: "alert", dataset: { code: doc.error?.code ?? "failed" } },
        h("p", {}, `Tutor could not read ${doc.file_name || "the PDF"}: ${doc.error?.message ?? "the reading failed."}`),
        h("div", { class: "actions" }, again),
        errors,
      ),
      uploadForm({ replacing: true }),
    );
  }

  function showPaper(doc, { moved }) {
    if (doc.title) {
      heading.textContent = doc.title;
      document.title = `${doc.title} · Tutor`;
    }
    const paper = paperView({ doc, sourceId, start, documentPath, signal });
    fill(body, paper.element);
    // Opened at a passage (a card's link): bring it into view and say where it is.
    if (target) paper.reveal(target, { announceIt: true });
    else if (moved) heading.focus({ preventScroll: true });
  }

  show(await fetchDocument());
}
