// The toolbar after a picked passage: explain it at a level, or explain it back. Either
// opens a new session on the paper, anchored to the passage's blocks, and hands the
// request over to the session's page (lib/handoff.js), which sends it.
import { api, sessionTitleFrom } from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { handOver } from "../lib/handoff.js";
import { navigate } from "../lib/router.js";
import { whileBusy } from "../lib/ui.js";
import { LEVELS } from "./chat.js";

const MAX_BLOCKS = 200; // the most blocks a passage may span (the API's limit)

/**
 * What the learner can do with a picked passage: explain it at a level, or explain it
 * back. Each opens a new session on this paper, anchored to the passage's blocks, and
 * hands the request over to the session's page (lib/handoff.js).
 */
export function passageToolbar({ title, sourceId, signal, onClose }) {
  let picked = null;
  const quote = h("p", { class: "picked-quote" });
  const errors = h("div");
  const buttons = [];
  const button = (label, onclick, attributes = {}) => {
    const made = h("button", { type: "button", onclick: (event) => onclick(event.currentTarget), ...attributes }, label);
    buttons.push(made);
    return made;
  };
  const explainButtons = LEVELS.map((level) => button(level.label, (clicked) => explain(level.value, clicked), { dataset: { level: level.value } }));
  const back = button("Explain it back", (clicked) => explainBack(clicked));
  const close = button("Close", () => onClose(), { "aria-label": "Close the passage toolbar" });
  const element = h(
    "div",
    {
      class: "passage-toolbar",
      role: "toolbar",
      "aria-label": "Selected passage",
      hidden: true,
      onkeydown: (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          onClose();
        } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
          const index = buttons.indexOf(document.activeElement);
          if (index === -1) return;
          event.preventDefault();
          buttons[(index + (event.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length].focus();
        }
      },
    },
    quote,
    h(
      "div",
      { class: "actions" },
      h("div", { class: "explain-levels", role: "group", "aria-label": "Explain" }, h("span", { class: "toolbar-label", "aria-hidden": "true" }, "Explain:"), explainButtons),
      back,
      close,
    ),
    errors,
  );

  function fromPaper() {
    return { source_id: sourceId, first_block: picked.firstBlock, last_block: picked.lastBlock };
  }

  function sessionTitle() {
    const where = picked.section.number ? `§${picked.section.number}` : picked.section.heading;
    return sessionTitleFrom(`${title} ${where}`.trim());
  }

  /** A new session on this paper, or undefined (the error shown) when it cannot be made. */
  function newSession(clicked) {
    return whileBusy(clicked, () => api.post("sessions", { source_id: sourceId, title: sessionTitle() }, { signal }), errors);
  }

  function tooLong() {
    if (picked.lastBlock - picked.firstBlock < MAX_BLOCKS) return false;
    errors.replaceChildren(h("p", { class: "error", role: "alert" }, `That is too long to explain at once: pick at most ${MAX_BLOCKS} paragraphs and equations.`));
    return true;
  }

  async function explain(level, clicked) {
    if (tooLong()) return;
    const session = await newSession(clicked);
    if (!session) return;
    handOver("explain", session.id, { passage: picked.text, level, from_paper: fromPaper() });
    navigate(`/sessions/${session.id}`);
  }

  async function explainBack(clicked) {
    if (tooLong()) return;
    const session = await newSession(clicked);
    if (!session) return;
    const place = { ...fromPaper(), paper_title: title, section_number: picked.section.number, section_heading: picked.section.heading, page: picked.page };
    handOver("explain-back", session.id, { concept: picked.section.heading, passage: picked.text, from_paper: fromPaper(), place });
    navigate(`/sessions/${session.id}/explain-back`);
  }

  return {
    element,
    show(passage) {
      picked = passage;
      const words = passage.text.replace(/\s+/g, " ");
      const where = passage.section.number ? `§${passage.section.number}` : passage.section.heading;
      fill(quote, h("span", { class: "meta" }, `${where}: `), `“${words.length > 140 ? `${words.slice(0, 140)}…` : words}”`);
      errors.replaceChildren();
      element.hidden = false;
    },
    hide() {
      picked = null;
      element.hidden = true;
    },
    focusFirst() {
      explainButtons[0].focus();
    },
  };
}
