// "A path back": when the learner is lost, or failed to explain a concept twice, the
// concepts the passage rests on, which of them their own history shows they know, and a
// step back for each of the others — ask here, open a source they have, or add a paper
// to the reading queue. Shown inside the session (chat and explain-back tabs).
import { api } from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { announce, errorBox, whileBusy } from "../lib/ui.js";

/** What "Ask here" sends: a follow-up in the session, about the concept, for this passage. */
export function askAbout(concept) {
  return `Before we go on: explain ${concept.name} for this passage. ${concept.why}`;
}

/**
 * The panel, hidden until a path is asked for (`request(trigger, concept)`) or the
 * session already has one (`showLatest()`). `onAsk(text)` sends a follow-up.
 */
export function prerequisitePanel({ session, signal, onAsk }) {
  const base = `sessions/${session.id}/prerequisites`;
  const body = h("div", { class: "prerequisites-body" });
  const element = h(
    "section",
    { class: "item prerequisites", "aria-labelledby": `prerequisites-${session.id}`, hidden: true },
    h("h2", { id: `prerequisites-${session.id}`, tabindex: "-1" }, "A path back"),
    body,
  );
  let asking = false;

  function conceptItem(concept) {
    return h(
      "li",
      { class: `prerequisite ${concept.known ? "known" : "unknown"}`, dataset: { step: concept.step.kind } },
      h("strong", { class: "name" }, concept.name),
      concept.known ? h("span", { class: "known-mark", "aria-label": "known" }, " ✓ known") : null,
      h("p", { class: "why" }, concept.why),
      concept.evidence ? h("p", { class: "evidence muted" }, concept.evidence) : null,
      concept.known ? null : stepElement(concept),
    );
  }

  function stepElement(concept) {
    const { step } = concept;
    const errors = h("div");
    if (step.kind === "queued_source") {
      return h("p", { class: "step" }, h("a", { href: `#/sources/${step.source_id}` }, `Open ${step.title}`));
    }
    if (step.kind === "add_source") {
      const button = h("button", { type: "button" }, "Add to reading queue");
      const slot = h("div", { class: "step" }, h("span", { class: "muted" }, `${step.title}${step.arxiv_id ? ` (arXiv ${step.arxiv_id})` : ""} `), button, errors);
      button.addEventListener("click", () =>
        whileBusy(
          button,
          async () => {
            const source = await addSource(step);
            button.replaceWith(h("a", { href: `#/sources/${source.id}` }, `Open ${source.title}`));
            announce(`Added ${source.title} to your reading queue.`);
          },
          errors,
        ),
      );
      return slot;
    }
    const ask = h("button", { type: "button", onclick: () => onAsk(askAbout(concept)) }, "Ask here");
    return h("div", { class: "step" }, ask);
  }

  async function addSource(step) {
    if (!step.arxiv_id) return api.post("sources", { title: step.title }, { signal });
    try {
      return await api.post("sources", { arxiv: step.arxiv_id, title: step.title }, { signal });
    } catch (error) {
      // Fetching from arXiv is off on this server: keep the paper as a link to read.
      if (error.code !== "arxiv_fetch_off") throw error;
      return api.post("sources", { title: step.title, url: `https://arxiv.org/abs/${step.arxiv_id}` }, { signal });
    }
  }

  function show(path) {
    element.hidden = false;
    element.dataset.pathId = path.id;
    fill(
      body,
      h("p", { class: "summary" }, path.summary),
      h("ol", { class: "prerequisite-list" }, path.concepts.map(conceptItem)),
    );
  }

  /** Asks the tutor for a path; the panel shows it (or why it could not). */
  async function request(trigger, concept = null) {
    if (asking) return;
    asking = true;
    element.hidden = false;
    element.setAttribute("aria-busy", "true");
    fill(body, h("p", { class: "busy-status", role: "status" }, "Finding what this rests on… this can take a minute."));
    element.scrollIntoView({ block: "nearest" });
    try {
      const path = await api.post(base, { trigger, concept }, { signal });
      show(path);
      announce("A path back is ready.");
      element.querySelector("h2").focus({ preventScroll: true });
    } catch (error) {
      if (error.name === "AbortError") return;
      const again = h("button", { type: "button", onclick: () => request(trigger, concept) }, "Try again");
      fill(body, errorBox(error, { action: again }));
    } finally {
      asking = false;
      element.removeAttribute("aria-busy");
    }
  }

  /** The session's latest path, if it has one: the way back stays where it was found. */
  async function showLatest() {
    try {
      const { items } = await api.get(base, { signal });
      if (items.length && !asking) show(items[0]);
    } catch (error) {
      if (error.name !== "AbortError") fill(body, errorBox(error));
    }
  }

  return { element, request, showLatest };
}
