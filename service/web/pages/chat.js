// The chat tab: paste a passage, pick a level, watch the answer stream in, follow up.
import { api } from "../lib/api.js";
import { clearDraft, keepDraft } from "../lib/drafts.js";
import { fill, formatDateTime, h, labelled, serverHtml } from "../lib/dom.js";
import { takeOver } from "../lib/handoff.js";
import { fromPaperLine } from "../lib/papers.js";
import { announce, errorBox, submitOnCtrlEnter } from "../lib/ui.js";
import { asksACheck, checkPanel } from "./check.js";
import { prerequisitePanel } from "./prerequisites.js";

export const LEVELS = [
  { value: "eli5", label: "ELI5" },
  { value: "intuition", label: "Intuition" },
  { value: "rigorous", label: "Rigorous" },
];
const LEVEL_LABELS = Object.fromEntries(LEVELS.map((level) => [level.value, level.label]));
const LEARNER_KINDS = { passage: "Passage", question: "Question", attempt: "Your explanation" };
const TUTOR_KINDS = { explanation: "Tutor", answer: "Tutor", critique: "Critique" };
const STATUS_WORDS = {
  failed: "The answer failed",
  interrupted: "The answer was interrupted",
  streaming: "Still being written (or cut off when the server stopped)",
};

/** A message as the server stored it. `onRetry(message)` is offered for failed answers. */
export function messageElement(message, { onRetry } = {}) {
  const isTutor = message.role === "tutor";
  const label = (isTutor ? TUTOR_KINDS : LEARNER_KINDS)[message.kind] ?? message.kind;
  const retryable = isTutor && (message.status === "failed" || message.status === "interrupted");
  return h(
    "article",
    {
      class: `message ${isTutor ? "tutor" : "learner"} status-${message.status}`,
      dataset: { messageId: message.id, kind: message.kind, status: message.status },
      "aria-label": label,
    },
    h(
      "header",
      {},
      h("strong", {}, label),
      message.level && isTutor ? h("span", { class: "level" }, LEVEL_LABELS[message.level]) : null,
      h("time", { datetime: message.created_at }, formatDateTime(message.created_at)),
      message.truncated ? h("span", {}, "· cut short at the length limit") : null,
    ),
    message.from_paper ? fromPaperLine(message.from_paper) : null,
    message.content ? serverHtml("div", message.html, { class: "body" }) : null,
    message.status !== "complete"
      ? h(
          "p",
          { class: `status-${message.status}`, role: retryable ? "alert" : null },
          STATUS_WORDS[message.status],
          message.error ? `: ${message.error}` : ".",
        )
      : null,
    retryable && onRetry
      ? h("div", { class: "actions" }, h("button", { type: "button", class: "retry", onclick: () => onRetry(message) }, "Retry"))
      : null,
  );
}

/** An answer being written: plain text appended as it arrives, in a reserved space. */
function streamingElement(level) {
  const text = document.createTextNode("");
  const element = h(
    "article",
    { class: "message tutor streaming", "aria-label": "Tutor", "aria-busy": "true", dataset: { status: "streaming" } },
    h("header", {}, h("strong", {}, "Tutor"), level ? h("span", { class: "level" }, LEVEL_LABELS[level]) : null, h("span", {}, "writing…")),
    h("div", { class: "body" }, text),
  );
  return { element, append: (piece) => text.appendData(piece) };
}

/** A preview of what the learner just sent, until the session is read back. */
function sentElement(kind, content) {
  return h(
    "article",
    { class: "message learner", "aria-label": LEARNER_KINDS[kind], dataset: { kind } },
    h("header", {}, h("strong", {}, LEARNER_KINDS[kind])),
    // Shaped like the server's rendering of plain prose, so the swap moves nothing.
    h("div", { class: "body" }, h("p", { style: { whiteSpace: "pre-wrap" } }, content)),
  );
}

function levelPicker(name, selected) {
  return h(
    "fieldset",
    { class: "segmented", role: "radiogroup" },
    h("legend", { class: "visually-hidden" }, "Level"),
    LEVELS.map((level) =>
      h(
        "label",
        {},
        h("input", { type: "radio", name, value: level.value, checked: level.value === selected }),
        h("span", {}, level.label),
      ),
    ),
  );
}

function isWriting(messages) {
  return messages.some((message) => message.status === "streaming");
}

function latestAnswerLevel(messages) {
  const answers = messages.filter((message) => message.role === "tutor" && message.level);
  return answers.at(-1)?.level ?? "intuition";
}


export async function renderTab(panel, { session, signal }) {
  let messages = session.messages;
  let streaming = null; // AbortController of the answer being written
  const list = h("div", { class: "messages", "aria-live": "off" });
  const alerts = h("div");
  // The answers to each message's check question, and its form, kept across redraws.
  const checks = await api.get(`sessions/${session.id}/checks`, { signal }).then(
    (found) => found.items,
    (error) => {
      if (error?.name === "AbortError") throw error;
      alerts.replaceChildren(errorBox(error));
      return [];
    },
  );
  const checkPanels = new Map();

  /** A message as stored, with its check (answers and form) under it when it asks one. */
  function shownMessage(message) {
    const element = messageElement(message, { onRetry: retry });
    if (!asksACheck(message)) return element;
    if (!checkPanels.has(message.id)) {
      const answered = checks.filter((check) => check.message_id === message.id);
      checkPanels.set(message.id, checkPanel({ session, message, checks: answered, signal }));
    }
    element.append(checkPanels.get(message.id).element);
    return element;
  }

  function renderMessages() {
    if (!messages.length) {
      fill(list, h("p", { class: "empty" }, "Paste a passage below: prose, an equation or code."));
      return;
    }
    // A check's form moves to the redrawn message: whoever was typing in it keeps focus.
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    fill(list, messages.map(shownMessage));
    if (focused?.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
  }

  async function reload({ settle = false } = {}) {
    let fresh = await api.get(`sessions/${session.id}`, { signal });
    // After Stop the server notices the closed stream a moment later, then saves the
    // partial answer as interrupted: wait for that rather than show it "still writing".
    for (let waited = 0; settle && waited < 5000 && isWriting(fresh.messages); waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      fresh = await api.get(`sessions/${session.id}`, { signal });
    }
    messages = fresh.messages;
    session.title = fresh.title;
    const heading = document.querySelector("main h1");
    if (heading && fresh.title) heading.textContent = fresh.title;
    renderMessages();
    updateComposer();
  }

  function setStreaming(controller) {
    streaming = controller;
    for (const control of panel.querySelectorAll("[data-send]")) control.disabled = Boolean(controller);
    stopButton.hidden = !controller;
  }

  /**
   * Sends a turn and streams its answer into a new message. `sent` previews what the
   * learner wrote; returns true once the server has stored it (even if the model failed).
   */
  async function converse(path, body, sent, level) {
    alerts.replaceChildren();
    list.querySelector(".empty")?.remove();
    for (const [kind, content] of sent) list.append(sentElement(kind, content));
    const answer = streamingElement(level);
    list.append(answer.element);
    answer.element.scrollIntoView({ block: "nearest" });
    const controller = new AbortController();
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    setStreaming(controller);
    let stored = false;
    try {
      const done = await api.stream(path, body, { onDelta: answer.append, signal: controller.signal });
      stored = true;
      answer.element.replaceWith(shownMessage(done.message));
      announce("The answer is complete.");
      await reload();
      // The learner said they are lost: the way back, without being asked twice.
      if (done.stumped) stuck.request("lost");
    } catch (error) {
      if (signal.aborted) return true; // left the page; the server keeps what was written
      // The server stores the learner's text before calling the model: a failure with a
      // message id (or a stream cut or stopped after it began) leaves it saved.
      stored = Boolean(error.messageId) || error.name === "AbortError" || error.code === "stream_cut";
      if (error.name === "AbortError") announce("Stopped. What was written so far is kept.");
      if (stored) {
        await reload({ settle: error.name === "AbortError" });
        if (error.name !== "AbortError") showFailure(error);
      } else {
        alerts.replaceChildren(errorBox(error));
        answer.element.remove();
        for (let index = 0; index < sent.length; index += 1) list.lastElementChild?.remove();
        if (!list.children.length) renderMessages();
      }
    } finally {
      setStreaming(null);
    }
    return stored;
  }

  async function retry(message) {
    alerts.replaceChildren();
    const path = `sessions/${session.id}/messages/${message.id}/retry`;
    const old = list.querySelector(`[data-message-id="${message.id}"]`);
    if (message.kind === "critique") {
      try {
        await api.post(path);
      } catch (error) {
        alerts.replaceChildren(errorBox(error));
      }
      await reload();
      return;
    }
    const answer = streamingElement(message.level);
    old?.replaceWith(answer.element);
    const controller = new AbortController();
    setStreaming(controller);
    let failure = null;
    try {
      await api.stream(path, {}, { onDelta: answer.append, signal: controller.signal });
      announce("The answer is complete.");
    } catch (error) {
      if (error.name !== "AbortError") failure = error;
    } finally {
      setStreaming(null);
    }
    if (signal.aborted) return;
    await reload({ settle: true });
    if (failure) showFailure(failure);
  }

  /**
   * A failed answer the server kept shows why, with its Retry button, in the list; the
   * error's own message would add API directions (POST …/retry) meant for other clients.
   * Anything else is shown as the API worded it.
   */
  function showFailure(error) {
    const failedAnswer = error.messageId
      ? list.querySelector(`[data-message-id="${error.messageId}"] button.retry`)
      : null;
    if (failedAnswer) failedAnswer.focus();
    else alerts.replaceChildren(errorBox(error));
  }

  // Explain a passage.
  const passage = labelled(
    "Passage",
    h("textarea", { name: "passage", rows: 6, required: true, "data-send": true, placeholder: "Paste prose, an equation ($…$ for LaTeX) or code from the paper." }),
    "Ctrl+Enter sends.",
  );
  const question = labelled("Your question (optional)", h("input", { name: "question", "data-send": true, placeholder: "e.g. Why divide by √d_k?" }));
  const explainLevel = levelPicker("explain-level", localStorage.getItem("tutor.level") ?? "intuition");
  const explainForm = h(
    "form",
    {
      class: "item composer",
      "aria-label": "Explain a passage",
      onsubmit: async (event) => {
        event.preventDefault();
        if (streaming) return;
        const level = new FormData(explainForm).get("explain-level");
        localStorage.setItem("tutor.level", level);
        const body = { passage: passage.control.value, question: question.control.value.trim() || null, level };
        const sent = [["passage", body.passage]];
        if (body.question) sent.push(["question", body.question]);
        if (await converse(`sessions/${session.id}/explain`, body, sent, level)) {
          clearDraft(passage.control, `${session.id}.passage`);
          clearDraft(question.control, `${session.id}.question`);
        }
      },
    },
    h("h2", {}, "Explain a passage"),
    passage.field,
    question.field,
    h("div", { class: "actions" }, explainLevel, h("button", { type: "submit", class: "primary", "data-send": true }, "Explain")),
  );

  // Follow up on the answers so far.
  const followUp = labelled(
    "Follow-up",
    h("textarea", { name: "content", rows: 3, required: true, "data-send": true, placeholder: "Ask about the answer, or say what is still unclear." }),
    "Ctrl+Enter sends. Simpler and Deeper ask again at the next level.",
  );

  async function sendFollowUp(content, level) {
    const body = { content, level };
    if (await converse(`sessions/${session.id}/messages`, body, [["question", content]], level)) {
      if (content === followUp.control.value) clearDraft(followUp.control, `${session.id}.followup`);
    }
  }

  function shiftedLevel(step) {
    const current = LEVELS.findIndex((level) => level.value === latestAnswerLevel(messages));
    return LEVELS[Math.min(LEVELS.length - 1, Math.max(0, current + step))].value;
  }

  const followUpForm = h(
    "form",
    {
      class: "item composer",
      "aria-label": "Follow up",
      onsubmit: (event) => {
        event.preventDefault();
        if (!streaming) sendFollowUp(followUp.control.value, latestAnswerLevel(messages));
      },
    },
    followUp.field,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary", "data-send": true }, "Ask"),
      h("button", { type: "button", "data-send": true, onclick: () => sendFollowUp("Explain that more simply: plainer words and an everyday analogy.", shiftedLevel(-1)) }, "Simpler"),
      h("button", { type: "button", "data-send": true, onclick: () => sendFollowUp("Go deeper: the precise version, with the math and every symbol defined.", shiftedLevel(1)) }, "Deeper"),
      h("button", { type: "button", class: "im-lost", onclick: () => stuck.request("lost") }, "I'm lost"),
    ),
  );

  const stopButton = h("button", { type: "button", hidden: true, onclick: () => streaming?.abort() }, "Stop");
  // What the passage rests on, when the learner is lost (pages/prerequisites.js).
  const stuck = prerequisitePanel({
    session,
    signal,
    onAsk: (text) => {
      if (!streaming) sendFollowUp(text, latestAnswerLevel(messages));
    },
  });

  function updateComposer() {
    followUpForm.hidden = !messages.some((message) => message.role === "tutor" && message.kind !== "critique");
  }

  keepDraft(passage.control, `${session.id}.passage`, { signal });
  keepDraft(question.control, `${session.id}.question`, { signal });
  keepDraft(followUp.control, `${session.id}.followup`, { signal });
  submitOnCtrlEnter(passage.control);
  submitOnCtrlEnter(followUp.control);
  renderMessages();
  updateComposer();
  fill(panel, list, h("div", { class: "actions" }, stopButton), alerts, stuck.element, followUpForm, explainForm);
  stuck.showLatest();
  // "Ask here" on the explain-back tab's path back: the question, sent here.
  const asked = takeOver("ask", session.id);
  if (asked?.content) sendFollowUp(asked.content, latestAnswerLevel(messages));
  // A passage picked in the reader (pages/reader.js), sent once the tab is on screen.
  const picked = takeOver("explain", session.id);
  if (picked) {
    const sent = [["passage", picked.passage]];
    converse(`sessions/${session.id}/explain`, picked, sent, picked.level).then((stored) => {
      if (!stored && !passage.control.value) passage.control.value = picked.passage;
    });
  }
}
