// What the learner is typing survives a reload, a closed tab or a failed request:
// each draft is kept in localStorage until the server has it.
const PREFIX = "tutor.draft.";

/** Restores `control`'s text from the draft `name` and keeps saving it as it changes. */
export function keepDraft(control, name, { signal } = {}) {
  const stored = localStorage.getItem(PREFIX + name);
  if (stored !== null && !control.value) control.value = stored;
  control.addEventListener(
    "input",
    () => {
      if (control.value) localStorage.setItem(PREFIX + name, control.value);
      else localStorage.removeItem(PREFIX + name);
    },
    { signal },
  );
}

/** The server has the text now: forget the draft (and empty the control). */
export function clearDraft(control, name) {
  control.value = "";
  localStorage.removeItem(PREFIX + name);
}
