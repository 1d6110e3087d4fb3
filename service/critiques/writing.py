"""The critique as the chat shows it: Markdown, with the learner's words quoted.

The fixes are not in it: the learner asks for each one ("Show the fix"), and the chat
must not give away what the hints leave to them.
"""

from __future__ import annotations

from service.critiques.schemas import CritiqueDraft

_TYPE_LABELS = {
    "misconception": "Misconception",
    "omission": "Missing",
    "imprecision": "Imprecise",
}


def _quoted(text: str) -> str:
    # Backticks would turn the learner's words into code; plain quotes keep them prose.
    return "“" + text.replace("\n", " ") + "”"


def as_markdown(draft: CritiqueDraft, *, attempt: int) -> str:
    if draft.low_effort:
        lines = [
            "This is not an attempt I can critique yet. Write the idea in your own words, "
            "as you would explain it to a colleague, even if you are unsure.",
            "",
            "**To get started**",
            "",
        ]
        lines += [f"{n}. {q}" for n, q in enumerate(draft.questions, start=1)]
        return "\n".join(lines)

    lines = [f"**Verdict: {draft.verdict.value}** (score {draft.score}/5, attempt {attempt})"]
    if draft.improved_since_last is not None:
        better = (
            "Better than your last attempt."
            if draft.improved_since_last
            else ("Not better than your last attempt yet.")
        )
        lines += ["", better]
    if draft.strengths:
        lines += ["", "**What you got right**", ""]
        lines += [f"- {strength}" for strength in draft.strengths]
    if draft.issues:
        lines += ["", "**What to fix**", ""]
        for issue in draft.issues:
            where = f"{_quoted(issue.quote)}: " if issue.quote else ""
            label = _TYPE_LABELS[issue.type]
            lines.append(
                f"- *{label}.* {where}{issue.problem} *Hint:* {issue.hint} "
                f"*Ask yourself:* {issue.question}"
            )
    lines += ["", "**Questions to think about**", ""]
    lines += [f"{n}. {q}" for n, q in enumerate(draft.questions, start=1)]
    if draft.next_step:
        lines += ["", f"**Next step:** {draft.next_step}"]
    return "\n".join(lines)
