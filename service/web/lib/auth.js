// The API key lives in localStorage. It arrives once in the URL fragment printed by
// `tutor serve` (fragments are never sent to a server, so the key never reaches a log),
// or the learner pastes it into the key dialog.
const STORAGE_KEY = "tutor.apiKey";

export function currentKey() {
  return localStorage.getItem(STORAGE_KEY);
}

export function saveKey(key) {
  localStorage.setItem(STORAGE_KEY, key.trim());
}

export function forgetKey() {
  localStorage.removeItem(STORAGE_KEY);
}

/** Takes `#key=...` out of the address bar at once and keeps the key. */
export function takeKeyFromFragment() {
  if (!location.hash.startsWith("#key=")) return;
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  if (key) saveKey(key);
  history.replaceState(null, "", location.pathname + location.search + "#/");
}

/**
 * Shows the key dialog and resolves once the learner has entered a key.
 * `reason` says why (no key yet, or the last one was refused).
 */
export function askForKey(reason) {
  const dialog = document.getElementById("key-dialog");
  const form = dialog.querySelector("form");
  const input = dialog.querySelector("input");
  dialog.querySelector("[data-reason]").textContent = reason;
  input.value = "";
  // Without a key nothing works: Escape must not close the dialog and leave a dead page.
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  if (!dialog.open) dialog.showModal();
  return new Promise((resolve) => {
    form.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        saveKey(input.value);
        dialog.close();
        resolve();
      },
      { once: true },
    );
  });
}
