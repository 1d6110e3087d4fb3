// One critique of the learner's explanation: verdict, score, the explanation with the
// quoted words marked, issues (fixes shown on request), strengths, questions and the next
// step. Used by the "Explain it back" tab.
import { h, uniqueId } from "../lib/dom.js";
import { whileBusy } from "../lib/ui.js";

export const VERDICTS = { solid: "Solid", shaky: "Shaky", wrong: "Wrong" };
export const ISSUE_TYPES = { misconception: "Misconception", omission: "Missing", imprecision: "Imprecise" };
// When quotes overlap, the shared words take the colour of the worse issue.
const TYPE_RANK = { misconception: 0, omission: 1, imprecision: 2 };
const LEVEL_WORDS = { eli5: "ELI5", intuition: "intuition", rigorous: "rigorous" };

/**
 * Where the quote sits in the explanation. The server keeps a quote only when it is in
 * the explanation once whitespace runs are folded to one space (critiques/grounding.py),
 * so the same folding is undone here: each whitespace run in the quote matches any run.
 */
export function findQuote(explanation, quote) {
  const words = quote.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return null;
  const escaped = words.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const found = new RegExp(escaped.join("\\s+"), "u").exec(explanation);
  return found ? { start: found.index, end: found.index + found[0].length } : null;
}

/**
 * The explanation as text nodes and <mark>s, one mark per stretch of text covered by
 * the same set of quotes, so overlapping quotes never cut or repeat the learner's words.
 * `issues` are `{type, quote, id, number}`; each mark is described by its issues.
 */
export function markedExplanation(explanation, issues) {
  const ranges = [];
  for (const issue of issues) {
    if (!issue.quote) continue;
    const found = findQuote(explanation, issue.quote);
    if (found) ranges.push({ ...found, issue });
  }
  const cuts = new Set([0, explanation.length]);
  for (const range of ranges) cuts.add(range.start).add(range.end);
  const points = [...cuts].sort((a, b) => a - b);
  const nodes = [];
  for (let index = 0; index < points.length - 1; index += 1) {
    const [start, end] = [points[index], points[index + 1]];
    const text = explanation.slice(start, end);
    const covering = ranges.filter((range) => range.start <= start && range.end >= end);
    if (!covering.length) {
      nodes.push(text);
      continue;
    }
    const worst = covering.reduce((a, b) => (TYPE_RANK[b.issue.type] < TYPE_RANK[a.issue.type] ? b : a));
    // The number of an issue is shown once, after the last piece of its quote.
    const ending = covering.filter((range) => range.end === end).map((range) => range.issue.number);
    nodes.push(
      h(
        "mark",
        {
          class: `type-${worst.issue.type}`,
          "aria-describedby": covering.map((range) => range.issue.id).join(" "),
          dataset: { issues: covering.map((range) => range.issue.number).join(" "), ...(ending.length ? { ref: ending.join(",") } : {}) },
        },
        text,
      ),
    );
  }
  return nodes;
}

/** "Shaky · 3/5 · judged at intuition depth · Improved since last attempt" */
export function verdictLine(critique) {
  if (critique.low_effort) {
    return h("p", { class: "verdict-line" }, h("span", { class: "verdict verdict-wrong" }, "Not an attempt yet"));
  }
  return h(
    "p",
    { class: "verdict-line" },
    h("span", { class: `verdict verdict-${critique.verdict}` }, VERDICTS[critique.verdict] ?? critique.verdict),
    h("span", { class: "score", "aria-label": `score ${critique.score} out of 5` }, `${critique.score}/5`),
    critique.level ? h("span", { class: "level" }, `judged at ${LEVEL_WORDS[critique.level] ?? critique.level} depth`) : null,
    critique.improved_since_last === true ? h("span", { class: "improved" }, "Improved since last attempt") : null,
    critique.improved_since_last === false ? h("span", { class: "not-improved" }, "Not better than the last attempt") : null,
  );
}

/**
 * Whether the server has a fix to show. Questions and fixes came in together: an issue
 * without a question is from an older critique, stored without a fix.
 */
const hasHiddenFix = (issue) => !issue.revealed && Boolean(issue.question);

function numberedIssues(critique) {
  const prefix = uniqueId(`issue-${critique.attempt}`);
  return critique.issues.map((issue, index) => ({ ...issue, number: index + 1, id: `${prefix}-${index + 1}` }));
}

/** The fix of an issue, focusable so that focus can land on it when it replaces its button. */
function fixElement(fix) {
  return h("span", { class: "fix", tabindex: "-1" }, h("strong", {}, "Fix: "), fix);
}

/**
 * "Show the fix": asks the server (`onReveal(index)` resolves with the updated critique),
 * then puts the fix where the button was. Nothing else is redrawn, so what the learner
 * is typing elsewhere on the page stays as it is. On failure the button stays.
 */
function revealButton(issue, { described, noteId, onReveal }) {
  const errors = h("div", { class: "reveal-errors" });
  const button = h(
    "button",
    { type: "button", class: "reveal", "aria-describedby": noteId },
    "Show the fix",
    h("span", { class: "visually-hidden" }, ` for issue ${issue.number}`),
  );
  const slot = h("div", { class: "reveal-slot" }, button, errors);
  button.addEventListener("click", () => {
    // Read before the button is disabled: the fix takes over its focus.
    const hadFocus = document.activeElement === button;
    return whileBusy(
      button,
      async () => {
        const updated = await onReveal(issue.number - 1);
        const fix = fixElement(updated.issues[issue.number - 1].fix);
        // Inside the issue's described text, so a mark of its quote is described with it.
        described.append(fix);
        slot.remove();
        if (hadFocus) fix.focus();
      },
      errors,
    );
  });
  return slot;
}

/**
 * The numbered issues. `compact` (the attempts grid): type, quote and problem only.
 * Otherwise hint, question, and the fix or a button to show it (with `onReveal`).
 */
function issueList(issues, { compact, onReveal = null, noteId = null }) {
  return h(
    "ol",
    { class: "issues" },
    issues.map((issue) => {
      // The part a marked quote is described by: what is wrong, never the button.
      const described = h(
        "div",
        { id: issue.id, class: "issue-text" },
        h("span", { class: `issue-type type-${issue.type}` }, ISSUE_TYPES[issue.type] ?? issue.type),
        " ",
        issue.quote ? h("q", {}, issue.quote) : h("span", { class: "muted" }, "(not in your words)"),
        h("span", { class: "problem" }, issue.problem),
        compact ? null : h("span", { class: "hint" }, "Hint: ", issue.hint),
        !compact && issue.question ? h("span", { class: "question" }, "Ask yourself: ", issue.question) : null,
        !compact && issue.revealed && issue.fix ? fixElement(issue.fix) : null,
      );
      const canReveal = !compact && hasHiddenFix(issue) && onReveal;
      return h(
        "li",
        { class: `issue type-${issue.type}`, value: issue.number },
        described,
        canReveal ? revealButton(issue, { described, noteId, onReveal }) : null,
      );
    }),
  );
}

function issuesSection(critique, issues, { onReveal }) {
  if (!issues.length) return h("p", {}, "No issues found.");
  const noteId = onReveal && issues.some(hasHiddenFix) ? uniqueId("reveal-note") : null;
  return [
    h("h3", {}, "Issues"),
    noteId ? h("p", { id: noteId, class: "muted reveal-note" }, "Try the hint first — showing the fix counts as a reveal.") : null,
    issueList(issues, { compact: false, noteId, onReveal: onReveal ? (index) => onReveal(critique, index) : null }),
  ];
}

function nextStep(critique) {
  return critique.next_step ? h("p", { class: "next-step" }, h("strong", {}, "Next step: "), critique.next_step) : null;
}

function lowEffortRequest(critique) {
  return h(
    "div",
    { class: "notice low-effort" },
    h("p", {}, "That is too short for the tutor to critique. Explain ", h("strong", {}, critique.concept), " in a few sentences of your own, as if teaching a friend, then send it again. These questions can get you started:"),
    h("ul", {}, critique.questions.map((question) => h("li", {}, question))),
  );
}

/**
 * The full critique, with a Revise button (`onRevise(critique)`) and a "Show the fix"
 * button per hidden fix (`onReveal(critique, index)` resolves with the updated critique).
 */
export function critiqueElement(critique, { onRevise, onReveal = null, headingId }) {
  const issues = numberedIssues(critique);
  const body = critique.low_effort
    ? [lowEffortRequest(critique), critique.explanation.trim() ? h("div", { class: "explanation" }, critique.explanation) : null, nextStep(critique)]
    : [
        h("h3", {}, "Your explanation"),
        h("div", { class: "explanation", "aria-label": "Your explanation" }, markedExplanation(critique.explanation, issues)),
        critique.strengths.length
          ? [h("h3", {}, "What holds up"), h("ul", { class: "strengths" }, critique.strengths.map((strength) => h("li", {}, strength)))]
          : null,
        issuesSection(critique, issues, { onReveal }),
        h("h3", {}, "Questions to think about"),
        h("ul", { class: "questions" }, critique.questions.map((question) => h("li", {}, question))),
        nextStep(critique),
      ];
  return h(
    "section",
    { class: "item critique", "aria-labelledby": headingId, dataset: { critiqueId: critique.id } },
    h("h2", { id: headingId, tabindex: "-1" }, `Attempt ${critique.attempt}: ${critique.concept}`),
    verdictLine(critique),
    body,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => onRevise(critique) }, "Revise this explanation")),
  );
}

/** One attempt in the side-by-side grid: enough to see what changed between attempts. */
export function attemptCard(critique, { latest }) {
  const issues = numberedIssues(critique);
  const headingId = uniqueId("attempt");
  return h(
    "article",
    { class: `item attempt${latest ? " latest" : ""}`, "aria-labelledby": headingId, dataset: { attempt: critique.attempt } },
    h("h3", { id: headingId }, `Attempt ${critique.attempt}`, latest ? " (latest)" : ""),
    verdictLine(critique),
    h("div", { class: "explanation" }, critique.low_effort ? critique.explanation : markedExplanation(critique.explanation, issues)),
    issues.length ? issueList(issues, { compact: true }) : null,
  );
}
