// One critique of the learner's explanation: verdict, score, the explanation with the
// quoted words marked, issues, strengths and questions. Used by the "Explain it back" tab.
import { h, uniqueId } from "../lib/dom.js";

export const VERDICTS = { solid: "Solid", shaky: "Shaky", wrong: "Wrong" };
export const SEVERITIES = { wrong: "Wrong", missing: "Missing", imprecise: "Imprecise" };
// When quotes overlap, the shared words take the colour of the worse issue.
const SEVERITY_RANK = { wrong: 0, missing: 1, imprecise: 2 };

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
 * `issues` are `{severity, quote, id, number}`; each mark is described by its issues.
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
    const worst = covering.reduce((a, b) => (SEVERITY_RANK[b.issue.severity] < SEVERITY_RANK[a.issue.severity] ? b : a));
    // The number of an issue is shown once, after the last piece of its quote.
    const ending = covering.filter((range) => range.end === end).map((range) => range.issue.number);
    nodes.push(
      h(
        "mark",
        {
          class: `severity-${worst.issue.severity}`,
          "aria-describedby": covering.map((range) => range.issue.id).join(" "),
          dataset: { issues: covering.map((range) => range.issue.number).join(" "), ...(ending.length ? { ref: ending.join(",") } : {}) },
        },
        text,
      ),
    );
  }
  return nodes;
}

/** "Shaky · 3/5 · Improved since last attempt" */
export function verdictLine(critique) {
  if (critique.low_effort) {
    return h("p", { class: "verdict-line" }, h("span", { class: "verdict verdict-wrong" }, "Not an attempt yet"));
  }
  return h(
    "p",
    { class: "verdict-line" },
    h("span", { class: `verdict verdict-${critique.verdict}` }, VERDICTS[critique.verdict] ?? critique.verdict),
    h("span", { class: "score", "aria-label": `score ${critique.score} out of 5` }, `${critique.score}/5`),
    critique.improved_since_last === true ? h("span", { class: "improved" }, "Improved since last attempt") : null,
    critique.improved_since_last === false ? h("span", { class: "not-improved" }, "Not better than the last attempt") : null,
  );
}

function numberedIssues(critique) {
  const prefix = uniqueId(`issue-${critique.attempt}`);
  return critique.issues.map((issue, index) => ({ ...issue, number: index + 1, id: `${prefix}-${index + 1}` }));
}

function issueList(issues, { compact }) {
  return h(
    "ol",
    { class: "issues" },
    issues.map((issue) =>
      h(
        "li",
        { id: issue.id, class: `issue severity-${issue.severity}`, value: issue.number },
        h("span", { class: `severity severity-${issue.severity}` }, SEVERITIES[issue.severity] ?? issue.severity),
        " ",
        issue.quote ? h("q", {}, issue.quote) : h("span", { class: "muted" }, "(not in your words)"),
        h("span", { class: "problem" }, issue.problem),
        compact ? null : h("span", { class: "hint" }, "Hint: ", issue.hint),
      ),
    ),
  );
}

function lowEffortRequest(critique) {
  return h(
    "div",
    { class: "notice low-effort" },
    h("p", {}, "That is too short for the tutor to critique. Explain ", h("strong", {}, critique.concept), " in a few sentences of your own, as if teaching a friend, then send it again. These questions can get you started:"),
    h("ul", {}, critique.questions.map((question) => h("li", {}, question))),
  );
}

/** The full critique, with a Revise button (`onRevise(critique)`). */
export function critiqueElement(critique, { onRevise, headingId }) {
  const issues = numberedIssues(critique);
  const body = critique.low_effort
    ? [lowEffortRequest(critique), critique.explanation.trim() ? h("div", { class: "explanation" }, critique.explanation) : null]
    : [
        h("h3", {}, "Your explanation"),
        h("div", { class: "explanation", "aria-label": "Your explanation" }, markedExplanation(critique.explanation, issues)),
        critique.strengths.length
          ? [h("h3", {}, "What holds up"), h("ul", { class: "strengths" }, critique.strengths.map((strength) => h("li", {}, strength)))]
          : null,
        issues.length ? [h("h3", {}, "Issues"), issueList(issues, { compact: false })] : h("p", {}, "No issues found."),
        h("h3", {}, "Questions to think about"),
        h("ul", { class: "questions" }, critique.questions.map((question) => h("li", {}, question))),
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
