// "Explain it back": the learner explains a concept in their own words, the tutor finds
// the holes, and attempt after attempt on the same concept shows the progress.
import { api } from "../lib/api.js";
import { clearDraft, keepDraft } from "../lib/drafts.js";
import { fill, h, labelled, plural } from "../lib/dom.js";
import { handOver, takeOver } from "../lib/handoff.js";
import { fromPaperLine } from "../lib/papers.js";
import { announce, errorBox, submitOnCtrlEnter } from "../lib/ui.js";
import { LEVELS } from "./chat.js";
import { attemptCard, critiqueElement, VERDICTS } from "./critique.js";
import { prerequisitePanel } from "./prerequisites.js";

// The server compares concepts this way (critiques/service.py concept_key).
const conceptKey = (concept) => concept.trim().toLocaleLowerCase().split(/\s+/).join(" ");

/** Concepts attempted in this session, most recently attempted first. */
function conceptsOf(critiques) {
  const byKey = new Map();
  for (const critique of critiques) {
    const key = conceptKey(critique.concept);
    byKey.delete(key); // re-inserted: Map order becomes "latest attempt last"
    byKey.set(key, critique);
  }
  return [...byKey.values()].reverse();
}

/** What the server judges at when no depth is sent (critiques/service.py _session_level). */
function sessionLevel(session) {
  const levels = (session.messages ?? []).map((message) => message.level).filter(Boolean);
  return levels.at(-1) ?? "intuition";
}

export async function renderTab(panel, { session, signal }) {
  const base = `sessions/${session.id}/critiques`;
  const draftName = `${session.id}.explainback`;
  let critiques = (await api.get(base, { signal })).items;
  let shown = null; // concept key of the attempts on screen
  let busy = false;

  const picker = h("div", { class: "concept-picker" });
  const alerts = h("div", { class: "critique-alerts" });
  const result = h("div", { class: "critique-result" });
  const history = h("div", { class: "critique-history" });
  // Two failed attempts on a concept: what it rests on (pages/prerequisites.js). "Ask
  // here" asks in the chat tab, which sends the question left for it.
  const stuck = prerequisitePanel({
    session,
    signal,
    onAsk: (content) => {
      handOver("ask", session.id, { content });
      window.location.hash = `#/sessions/${session.id}`;
    },
  });

  const concept = labelled(
    "Concept",
    h("input", { name: "concept", required: true, maxlength: 200, autocomplete: "off", placeholder: "e.g. scaled dot-product attention" }),
  );
  const explanation = labelled(
    "Your explanation",
    h("textarea", { name: "explanation", rows: 8, placeholder: "Explain it as if teaching a friend: what it is for, what goes in, what comes out, and why it works." }),
    "In your own words; the tutor quotes them back when something is off. Ctrl+Enter sends.",
  );
  const sessionDepth = LEVELS.find((level) => level.value === sessionLevel(session))?.label;
  const depth = labelled(
    "Depth",
    h(
      "select",
      { name: "level" },
      // Empty: nothing is sent, and the server takes the session's latest depth.
      h("option", { value: "" }, sessionDepth ? `Session's depth (${sessionDepth})` : "Session's depth"),
      LEVELS.map((level) => h("option", { value: level.value }, level.label)),
    ),
    "The depth your explanation aims at: the critique asks for no more than that.",
  );
  depth.field.classList.add("depth");
  const passage = labelled(
    "Reference passage",
    h("textarea", { name: "passage", rows: 5 }),
    "Leave empty to be judged against this session's passages.",
  );
  // A passage picked in the reader (pages/reader.js): the concept and reference filled in.
  const picked = takeOver("explain-back", session.id);
  const anchor = picked?.place ? fromPaperLine(picked.place, { prefix: "Picked from " }) : null;
  const submit = h("button", { type: "submit", class: "primary" }, "Critique my explanation");
  const status = h("p", { class: "busy-status", role: "status" });
  const reference = h(
    "details",
    { class: "reference" },
    h("summary", {}, "Judge against a passage of your own"),
    passage.field,
    anchor,
  );
  const form = h(
    "form",
    { class: "item composer", "aria-label": "Explain it back", onsubmit: (event) => { event.preventDefault(); send(); } },
    h("h2", {}, "Explain it back"),
    h("p", { class: "hint" }, "Explaining a concept is the quickest way to find what you have not understood yet. The tutor points at the words that are wrong, missing or imprecise."),
    concept.field,
    explanation.field,
    depth.field,
    reference,
    h("div", { class: "actions" }, submit, status),
  );

  function setBusy(on, words = "") {
    busy = on;
    submit.disabled = on;
    form.setAttribute("aria-busy", String(on));
    status.textContent = on ? words : "";
  }

  function renderPicker() {
    const concepts = conceptsOf(critiques);
    if (!concepts.length) {
      fill(picker);
      return;
    }
    fill(
      picker,
      h("h2", { id: "concepts-heading" }, "Concepts you have explained"),
      h(
        "ul",
        { class: "concepts", "aria-labelledby": "concepts-heading" },
        concepts.map((latest) => {
          const key = conceptKey(latest.concept);
          const count = critiques.filter((critique) => conceptKey(critique.concept) === key).length;
          const summary = latest.low_effort ? "not yet attempted" : `${VERDICTS[latest.verdict]}, ${latest.score}/5`;
          return h(
            "li",
            {},
            h(
              "button",
              { type: "button", class: "concept", "aria-current": key === shown ? "true" : null, onclick: () => pickConcept(latest.concept) },
              h("span", {}, latest.concept),
              h("span", { class: "meta" }, ` · ${plural(count, "attempt")} · last ${summary}`),
            ),
          );
        }),
      ),
    );
  }

  /** Shows the attempts on `name`: the latest in full, every attempt side by side. */
  function showConcept(name, { focus = false } = {}) {
    shown = conceptKey(name);
    const attempts = critiques.filter((critique) => conceptKey(critique.concept) === shown);
    renderPicker();
    if (!attempts.length) {
      fill(result);
      fill(history);
      return;
    }
    const latest = attempts.at(-1);
    fill(result, critiqueElement(latest, { onRevise: revise, onReveal: reveal, headingId: "latest-critique" }));
    if (attempts.length > 1) {
      fill(
        history,
        h("h2", {}, `Your ${attempts.length} attempts at “${latest.concept}”`),
        h("p", { class: "hint" }, "Oldest first, so you can see what changed."),
        h("div", { class: "attempts" }, attempts.map((critique) => attemptCard(critique, { latest: critique === latest }))),
      );
    } else {
      fill(history);
    }
    if (focus) result.querySelector("h2").focus();
  }

  async function pickConcept(name) {
    alerts.replaceChildren();
    if (!concept.control.value.trim() || conceptKey(concept.control.value) !== conceptKey(name)) {
      concept.control.value = name;
      concept.control.dispatchEvent(new Event("input"));
    }
    try {
      // Read again: another tab (or device) may have added attempts since.
      critiques = (await api.get(base, { signal })).items;
    } catch (error) {
      if (error.name === "AbortError") return;
      alerts.replaceChildren(errorBox(error));
    }
    showConcept(name, { focus: true });
  }

  function revise(critique) {
    const current = explanation.control.value;
    if (current.trim() && current !== critique.explanation && !window.confirm("Replace what you are writing now with this explanation?")) {
      return;
    }
    concept.control.value = critique.concept;
    concept.control.dispatchEvent(new Event("input"));
    explanation.control.value = critique.explanation;
    explanation.control.dispatchEvent(new Event("input"));
    explanation.control.focus();
    explanation.control.setSelectionRange(critique.explanation.length, critique.explanation.length);
    explanation.control.scrollIntoView({ block: "center" });
  }

  /** Shows one fix: the critique on screen puts it in place; the list keeps the update. */
  async function reveal(critique, index) {
    const updated = await api.post(`${base}/${critique.id}/reveal`, { issue: index }, { signal });
    critiques = critiques.map((other) => (other.id === updated.id ? updated : other));
    return updated;
  }

  /** The server has the attempt and its critique: show it and forget the draft. */
  async function finished(critique) {
    clearDraft(explanation.control, draftName);
    try {
      critiques = (await api.get(`${base}?concept=${encodeURIComponent(critique.concept)}`, { signal })).items
        .concat(critiques.filter((other) => conceptKey(other.concept) !== conceptKey(critique.concept)))
        .sort((a, b) => a.created_at.localeCompare(b.created_at));
    } catch {
      // The fresh list is a nicety: what the server answered is enough to show.
      critiques = critiques.filter((other) => other.id !== critique.id).concat(critique);
    }
    showConcept(critique.concept, { focus: true });
    announce(critique.low_effort ? "The tutor asks for a real attempt." : `Critique ready: ${VERDICTS[critique.verdict]}, ${critique.score} out of 5.`);
    if (critique.stumped) stuck.request("critiques", critique.concept);
  }

  function failed(error, retryId) {
    if (error.name === "AbortError") return;
    const messageId = error.messageId ?? retryId;
    const retryButton = messageId
      ? h("button", { type: "button", class: "retry", onclick: () => retry(messageId) }, "Retry")
      : null;
    const box = errorBox(error, { action: retryButton });
    if (messageId) {
      box.prepend(h("p", {}, "Your explanation is saved and still in the box above. Retry asks the tutor again."));
    }
    alerts.replaceChildren(box);
  }

  async function send() {
    if (busy) return;
    const body = { concept: concept.control.value.trim(), explanation: explanation.control.value };
    if (passage.control.value.trim()) body.passage = passage.control.value;
    // Anchored to the paper's blocks while the reference is still the passage picked there.
    if (picked && passage.control.value === picked.passage) body.from_paper = picked.from_paper;
    if (depth.control.value) body.level = depth.control.value;
    alerts.replaceChildren();
    setBusy(true, "The tutor is reading your explanation… this can take a minute.");
    try {
      const critique = await api.post(base, body, { signal });
      setBusy(false);
      await finished(critique);
    } catch (error) {
      setBusy(false);
      failed(error);
    }
  }

  async function retry(messageId) {
    if (busy) return;
    alerts.replaceChildren();
    setBusy(true, "Asking the tutor again…");
    try {
      const { critique } = await api.post(`sessions/${session.id}/messages/${messageId}/retry`, {}, { signal });
      setBusy(false);
      await finished(critique);
    } catch (error) {
      setBusy(false);
      failed(error, messageId);
    }
  }

  keepDraft(explanation.control, draftName, { signal });
  keepDraft(concept.control, `${draftName}.concept`, { signal });
  keepDraft(passage.control, `${draftName}.passage`, { signal });
  if (picked) {
    concept.control.value = picked.concept ?? "";
    passage.control.value = picked.passage;
    for (const control of [concept.control, passage.control]) control.dispatchEvent(new Event("input"));
  }
  if (passage.control.value) reference.open = true;
  submitOnCtrlEnter(explanation.control);

  const latest = critiques.at(-1);
  if (latest && !concept.control.value) concept.control.value = latest.concept;
  fill(panel, picker, form, alerts, result, stuck.element, history);
  if (latest) showConcept(latest.concept);
  else renderPicker();
}
