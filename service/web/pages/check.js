// The "Check:" question that ends a tutor's answer: answer it, see it graded, answer again.
import { api } from "../lib/api.js";
import { clearDraft, keepDraft } from "../lib/drafts.js";
import { formatDateTime, h, labelled, uniqueId } from "../lib/dom.js";
import { errorBox, errorMessage, submitOnCtrlEnter } from "../lib/ui.js";

// As service/checks/question.py decides it: a line starting with the word "check" and a
// colon, any markup around the word (Python's \W is Unicode-aware, hence \p{L}\p{N}).
const NOT_WORD = "[^\\p{L}\\p{N}_]";
const CHECK_LINE = new RegExp(`(?:^|(?<=\\n))${NOT_WORD}*check${NOT_WORD}*:[\\s*_]*`, "giu");
const RESULT_WORDS = { right: "Right", partly: "Partly", wrong: "Not yet" };

/** The question a tutor's answer ends with, or null: exactly one check line, or none counts. */
export function checkQuestion(text) {
  const found = [...(text ?? "").matchAll(CHECK_LINE)];
  if (found.length !== 1) return null;
  const rest = text.slice(found[0].index + found[0][0].length);
  return rest.trim().replace(/^[*_]+|[*_]+$/g, "").trim() || null;
}

/** Whether the server takes an answer to this message's check (see service/checks/service.py). */
export function asksACheck(message) {
  return (
    message.role === "tutor" &&
    message.status === "complete" &&
    (message.kind === "explanation" || message.kind === "answer") &&
    checkQuestion(message.content) !== null
  );
}

/**
 * The answers to one message's check question (oldest first, as the server lists them)
 * and a form to answer it (again). The element lives as long as the page: the chat puts
 * it back under its message each time the list is drawn again.
 */
export function checkPanel({ session, message, checks = [], signal }) {
  const attempts = [...checks];
  let busy = false;
  const draftName = `${session.id}.check.${message.id}`;
  const draftsHref = `#/sessions/${session.id}/cards`;

  const questionId = uniqueId("check-question");
  const answer = labelled(
    "Your answer to the check question",
    h("textarea", { name: "answer", rows: 2, required: true, maxlength: 4000, "aria-describedby": questionId }),
  );
  const submit = h("button", { type: "submit", class: "primary" }, "Check my answer");
  const status = h("p", { class: "busy-status", role: "status" });
  const alerts = h("div");
  const list = h("ol", { class: "check-attempts", "aria-label": "Your answers to the check" });
  const form = h(
    "form",
    { class: "check-form", "aria-label": "Answer the check", onsubmit: onSubmit },
    h("span", { id: questionId, class: "visually-hidden" }, checkQuestion(message.content)),
    answer.field,
    h("div", { class: "actions" }, submit, status),
    alerts,
  );
  const element = h("div", { class: "check-loop", dataset: { messageId: message.id } }, list, form);

  keepDraft(answer.control, draftName, { signal });
  submitOnCtrlEnter(answer.control);
  renderAttempts();

  function onSubmit(event) {
    event.preventDefault();
    const text = answer.control.value.trim();
    if (busy || !text) return;
    grade(() => api.post(`sessions/${session.id}/messages/${message.id}/check`, { answer: text }, { signal }), text);
  }

  function gradeAgain(check) {
    if (busy) return;
    grade(() => api.post(`sessions/${session.id}/checks/${check.id}/retry`, {}, { signal }), check.answer, check);
  }

  /** Runs a grading call; what the learner typed stays in the box until it is graded. */
  async function grade(call, text, retried = null) {
    setBusy(true, "Grading…");
    alerts.replaceChildren();
    let focusOn = null;
    try {
      const check = await call();
      keep(check);
      if (answer.control.value.trim() === check.answer) clearDraft(answer.control, draftName);
      setBusy(false, `Graded: ${RESULT_WORDS[check.result] ?? check.status}.`);
      focusOn = list.querySelector(`[data-check-id="${check.id}"]`);
    } catch (error) {
      setBusy(false);
      if (signal.aborted || error?.name === "AbortError") return;
      const checkId = error.details?.check_id ?? retried?.id;
      if (error.code === "already_graded" && retried) {
        focusOn = await refresh(retried.id);
      } else if (checkId) {
        // The server kept the answer and marked it failed: it is graded again from there.
        keep({ ...(retried ?? {}), id: checkId, answer: retried?.answer ?? text, status: "failed", error });
        focusOn = list.querySelector(`[data-check-id="${checkId}"] button.grade-again`);
      } else {
        alerts.replaceChildren(errorBox(error));
        focusOn = answer.control;
      }
    }
    focusOn?.focus();
  }

  /** Reads the check back after another tab or request graded it. */
  async function refresh(checkId) {
    const fresh = await api.get(`sessions/${session.id}/checks`, { signal }).catch(() => null);
    const check = fresh?.items.find((item) => item.id === checkId);
    if (check) keep(check);
    return list.querySelector(`[data-check-id="${checkId}"]`);
  }

  function keep(check) {
    const index = attempts.findIndex((attempt) => attempt.id === check.id);
    if (index >= 0) attempts[index] = check;
    else attempts.push(check);
    renderAttempts();
  }

  function setBusy(on, words = "") {
    busy = on;
    submit.disabled = on;
    for (const button of list.querySelectorAll("button.grade-again")) button.disabled = on;
    form.setAttribute("aria-busy", String(on));
    status.textContent = words;
  }

  function renderAttempts() {
    list.hidden = !attempts.length;
    list.replaceChildren(...attempts.map((check, index) => attemptElement(check, index + 1, index === attempts.length - 1)));
  }

  function attemptElement(check, number, latest) {
    const graded = check.status === "graded";
    const missed = graded && check.result !== "right";
    return h(
      "li",
      {
        class: `check-attempt${latest ? " latest" : ""}`,
        tabindex: "-1",
        dataset: { checkId: check.id, status: check.status, result: check.result ?? "" },
      },
      h(
        "p",
        { class: "check-verdict" },
        graded
          ? h("strong", { class: `check-badge result-${check.result}` }, RESULT_WORDS[check.result])
          : h("strong", { class: "check-badge not-graded" }, "Not graded"),
        h("span", { class: "meta" }, `Attempt ${number}`, check.created_at ? ` · ${formatDateTime(check.created_at)}` : ""),
      ),
      h("p", { class: "check-answer" }, h("span", { class: "check-label" }, "You answered: "), check.answer),
      graded && check.feedback ? h("p", { class: "check-feedback" }, check.feedback) : null,
      missed && check.expected
        ? h("p", { class: "check-expected" }, h("span", { class: "check-label" }, "The answer looked for: "), check.expected)
        : null,
      missed && check.card_id
        ? h("p", { class: "check-card" }, "A card draft was made for review. ", h("a", { href: draftsHref }, "See this session’s drafts"))
        : null,
      graded ? null : failureElement(check),
    );
  }

  function failureElement(check) {
    // A failure seen just now says why, as an alert; one found on loading the page is
    // only waiting to be graded again.
    const said = check.error ? errorMessage(check.error) : "";
    const why = check.error
      ? `Grading failed: ${said}${/[.!?]$/.test(said) ? "" : "."}`
      : check.status === "grading"
        ? "The grading of this answer did not finish."
        : "The grading of this answer failed.";
    return h(
      "div",
      { class: "error", role: check.error ? "alert" : null },
      h("p", {}, why, " Your answer is kept."),
      h("button", { type: "button", class: "grade-again", disabled: busy, onclick: () => gradeAgain(check) }, "Grade again"),
    );
  }

  return { element };
}
