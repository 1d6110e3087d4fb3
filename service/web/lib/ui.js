// Small pieces every page uses: errors in words, busy buttons, announcements.
import { ApiError } from "./api.js";
import { formatDateTime, h } from "./dom.js";

/** What went wrong, in words, with the API's code for anyone reporting it. */
export function errorMessage(error) {
  if (error instanceof ApiError) {
    // The server names the moment a quota resets in ISO 8601; the learner reads their own clock.
    const resetsAt = error.details?.resets_at;
    if (typeof resetsAt === "string" && error.message.includes(resetsAt) && !Number.isNaN(Date.parse(resetsAt))) {
      return error.message.replace(resetsAt, formatDateTime(resetsAt));
    }
    return error.message;
  }
  return `Something went wrong in this page: ${error?.message ?? error}`;
}

/** An alert box for an error, with an optional action such as Retry. */
export function errorBox(error, { action = null } = {}) {
  const code = error instanceof ApiError ? error.code : "client_error";
  return h(
    "div",
    { class: "error", role: "alert", dataset: { code } },
    h("p", {}, errorMessage(error)),
    action,
  );
}

/** Says something to screen readers (and shows it briefly) without moving focus. */
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A fresh text node after a tick makes screen readers read a repeated message again.
  setTimeout(() => {
    region.textContent = message;
  }, 30);
}

/**
 * Runs `work` with `button` disabled and marked busy; shows an error next to `errorSlot`
 * (an element whose contents are replaced) when it fails. Resolves with work's result,
 * or undefined after an error.
 */
export async function whileBusy(button, work, errorSlot) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  errorSlot?.replaceChildren();
  try {
    return await work();
  } catch (error) {
    if (error?.name === "AbortError") return undefined;
    if (errorSlot) errorSlot.replaceChildren(errorBox(error));
    else throw error;
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A page's loading state, replaced by the page once its data is in. */
export function loading(what = "Loading") {
  return h("p", { class: "loading", role: "status" }, `${what}…`);
}

/** Offers a Blob as a file download. */
export function saveFile({ blob, filename }) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Ctrl+Enter (or ⌘+Enter) in a text box sends its form, as in most chat and mail apps. */
export function submitOnCtrlEnter(control) {
  control.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      control.form.requestSubmit();
    }
  });
}
