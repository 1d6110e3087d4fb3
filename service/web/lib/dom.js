// Building the page from data without ever parsing learner text as HTML.

/**
 * `h("button", {type: "button", onclick: fn, class: "primary"}, "Save")`.
 * Strings among the children become text nodes, never markup; null/false are skipped.
 * Attributes: `on<event>` adds a listener, `dataset` and `style` take objects,
 * `true`/`false` set or omit a boolean attribute, anything else is set as given.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset" || name === "style") {
      Object.assign(element[name], value);
    } else if (name === "value" || name === "checked") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/**
 * HTML the server rendered and sanitised (Markdown with MathML, passed through nh3).
 * This is the only place the UI sets innerHTML.
 */
export function serverHtml(tag, html, attributes = {}) {
  const element = h(tag, attributes);
  element.innerHTML = html;
  return element;
}

/** Replaces everything inside `element` with `children`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let uniqueCounter = 0;
/** An id for pairing labels with inputs. */
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A labelled input, textarea or select: returns `{field, control}`. */
export function labelled(labelText, control, hint) {
  control.id ||= uniqueId("field");
  const hintElement = hint ? h("small", { id: `${control.id}-hint`, class: "hint" }, hint) : null;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  const field = h("div", { class: "field" }, h("label", { for: control.id }, labelText), control, hintElement);
  return { field, control };
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDate(isoDate) {
  // A plain date (2026-11-23) is the learner's day, not an instant: read it as local noon.
  return dateFormat.format(new Date(`${isoDate}T12:00:00`));
}

export function formatDateTime(isoDateTime) {
  return dateTimeFormat.format(new Date(isoDateTime));
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}
