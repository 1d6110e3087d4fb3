// Hash routes (#/review, #/sessions/<id>): the server only serves index.html at "/",
// and the fragment keeps working behind any reverse-proxy prefix.
import { h, fill } from "./dom.js";
import { errorBox, loading } from "./ui.js";

const routes = [];
let current = null; // {controller} of the page on screen
let shown = 0; // pages asked for so far

/** `pattern` like "/sessions/:id/cards"; `load` imports the page module lazily. */
export function route(pattern, load, options = {}) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}/?$`), names, load, ...options });
}

function match(path) {
  for (const candidate of routes) {
    const found = candidate.regex.exec(path);
    if (found) {
      const params = Object.fromEntries(
        candidate.names.map((name, index) => [name, decodeURIComponent(found[index + 1])]),
      );
      return { ...candidate, params };
    }
  }
  return null;
}

export function currentPath() {
  const hash = location.hash.replace(/^#/, "") || "/";
  return hash.split("?")[0];
}

export function currentQuery() {
  return new URLSearchParams(location.hash.split("?")[1] ?? "");
}

export function navigate(path) {
  location.hash = `#${path}`;
}

async function show(view) {
  // Only the page the app opens on keeps focus at the top; every later one is a
  // navigation, even when it cut short the first page's loading (a quick click).
  const moveFocus = shown++ > 0;
  current?.controller.abort();
  const controller = new AbortController();
  current = { controller };
  const path = currentPath();
  const found = match(path);
  markNavigation(found?.nav);
  fill(view, loading());
  if (!found) {
    fill(view, h("h1", { tabindex: "-1" }, "Not found"), h("p", {}, "There is no page at this address. "), h("a", { href: "#/" }, "Go to your sessions"));
    focusHeading(view, { moveFocus });
    return;
  }
  try {
    const page = await found.load();
    if (controller.signal.aborted) return;
    await page.render(view, { params: found.params, query: currentQuery(), signal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted || error?.name === "AbortError") return;
    fill(view, h("h1", { tabindex: "-1" }, "This page could not be shown"), errorBox(error, {
      action: h("button", { type: "button", onclick: () => show(view) }, "Try again"),
    }));
  }
  if (!controller.signal.aborted) focusHeading(view, { moveFocus });
}

function focusHeading(view, { moveFocus }) {
  const heading = view.querySelector("h1");
  if (!heading) return;
  heading.setAttribute("tabindex", "-1");
  document.title = `${heading.textContent} · Tutor`;
  // After a navigation, screen readers and keyboards start at the new page's heading; on
  // the first load focus stays at the top, so the first Tab reaches "Skip to content".
  if (moveFocus) heading.focus({ preventScroll: true });
}

function markNavigation(name) {
  for (const link of document.querySelectorAll("#site-nav a")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

export function startRouter(view) {
  window.addEventListener("hashchange", () => show(view));
  return show(view);
}

/** Shows the current page again (after a change made elsewhere). */
export function refresh() {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
