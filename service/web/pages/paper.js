// A paper as the reader shows it: by section, with numbered headings, paragraphs and
// equations (MathML, with their numbers), a page of blocks at a time from either end.
// Selecting a passage, or picking an equation, brings the passage toolbar after it.
import { api } from "../lib/api.js";
import { h, plural, serverHtml, uniqueId } from "../lib/dom.js";
import { announce, whileBusy } from "../lib/ui.js";
import { passageToolbar } from "./passagetoolbar.js";

export const PAGE_SIZE = 200; // blocks asked for at a time

/** The paper by section, paging by blocks; the passage toolbar on a selection. */
export function paperView({ doc, sourceId, start, documentPath, signal }) {
  const title = doc.title || "the paper";
  const sections = new Map(); // section index -> {element, heading, number}
  const blocks = new Map(); // position -> {block, section}
  const hintId = uniqueId("equation-hint");
  const content = h("div", { class: "paper-content" });
  const earlierButton = h("button", { type: "button", onclick: () => loadEarlier() }, "Show the paper before this");
  const moreButton = h("button", { type: "button", onclick: () => loadMore() }, "Load more of the paper");
  const pageErrors = h("div");
  let first = start;
  let next = null;
  let loadingMore = false;

  const toolbar = passageToolbar({ title, sourceId, signal, onClose: () => unpick({ clear: true }) });
  let picked = null;

  function sectionElement(section) {
    const known = sections.get(section.index);
    if (known) return known.element;
    const level = Math.min(4, Math.max(2, section.level + 1));
    const element = h(
      "section",
      { class: "paper-section", dataset: { index: String(section.index) }, "aria-labelledby": `paper-section-${section.index}` },
      h(
        `h${level}`,
        { id: `paper-section-${section.index}` },
        section.number ? h("span", { class: "section-number" }, section.number) : null,
        section.number ? " " : null,
        section.heading,
      ),
    );
    sections.set(section.index, { element, heading: section.heading, number: section.number });
    insertInOrder(content, element, section.index, (child) => Number(child.dataset.index));
    return element;
  }

  function blockElement(block) {
    if (block.kind !== "equation") {
      // Focusable by a click only: Tab after selecting in it goes on to the toolbar after it
      // (not from the top of the page, where focus on <main> would start it).
      const attributes = { class: "block", tabindex: "-1", dataset: { position: String(block.position), page: block.page ?? "" } };
      // From a LaTeX source, the paragraph's inline math as MathML; from a PDF, its text.
      return block.html ? serverHtml("div", block.html, attributes) : h("p", attributes, block.text);
    }
    const math = block.html
      ? serverHtml("div", block.html, { class: "equation-math" })
      : h("div", { class: "equation-math equation-text" }, block.text);
    return h(
      "div",
      {
        class: "block equation",
        tabindex: "0",
        "aria-describedby": hintId,
        dataset: { position: String(block.position), page: block.page ?? "" },
        onclick: (event) => pickEquation(event.currentTarget, { focus: false }),
        onkeydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            pickEquation(event.currentTarget, { focus: true });
          }
        },
      },
      math,
      block.label ? h("span", { class: "equation-label" }, block.label) : null,
    );
  }

  function addPage(page) {
    for (const section of page.sections) {
      const element = sectionElement(section);
      for (const block of section.blocks) {
        if (blocks.has(block.position)) continue;
        blocks.set(block.position, { block, section: sections.get(section.index) });
        // After the heading, in paper order: pages come in from either end.
        insertInOrder(element, blockElement(block), block.position, (child) => Number(child.dataset.position ?? -1), { after: element.firstElementChild });
      }
    }
  }

  async function loadMore() {
    if (loadingMore || next === null) return;
    loadingMore = true;
    const page = await whileBusy(moreButton, () => api.get(documentPath(next), { signal }), pageErrors);
    loadingMore = false;
    if (!page) return;
    addPage(page);
    next = page.next_block;
    moreButton.hidden = next === null;
    announce(next === null ? "The rest of the paper is shown." : "More of the paper is shown.");
  }

  async function loadEarlier() {
    const from = Math.max(0, first - PAGE_SIZE);
    const page = await whileBusy(earlierButton, () => api.get(documentPath(from, first - from), { signal }), pageErrors);
    if (!page) return;
    addPage(page);
    first = from;
    earlierButton.hidden = first === 0;
    announce("The paper before this is shown.");
  }

  // Selecting text: the blocks it touches and its words (an equation whole, as LaTeX).
  // A formula inside a paragraph is MathML on the page and goes back to the tutor as the
  // LaTeX it was rendered from (its alttext), even when the selection takes only part of it.
  function selectedWords(part) {
    const fragment = part.cloneContents();
    for (const math of fragment.querySelectorAll("math[alttext]")) {
      math.replaceWith(`$${math.getAttribute("alttext")}$`);
    }
    return fragment.textContent;
  }

  function blockText(element, range) {
    const part = document.createRange();
    part.selectNodeContents(element);
    if (element.contains(range.startContainer)) part.setStart(range.startContainer, range.startOffset);
    if (element.contains(range.endContainer)) part.setEnd(range.endContainer, range.endOffset);
    const words = selectedWords(part);
    // A triple click ends at the start of the next block: that block is not picked.
    if (!words.trim()) return "";
    const { block } = blocks.get(Number(element.dataset.position));
    if (block.kind === "equation") return block.latex ? `$$${block.latex}$$` : block.text;
    return words;
  }

  function fromSelection() {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
    const range = selection.getRangeAt(0);
    if (!content.contains(range.commonAncestorContainer) || toolbar.element.contains(range.commonAncestorContainer)) return null;
    const parts = [...content.querySelectorAll("[data-position]")]
      .filter((element) => range.intersectsNode(element))
      .map((element) => ({ element, text: blockText(element, range).trim() }))
      .filter((part) => part.text);
    if (!parts.length) return null;
    return { elements: parts.map((part) => part.element), text: parts.map((part) => part.text).join("\n\n") };
  }

  function pick({ elements, text }, { focus }) {
    unpick({ clear: false });
    const firstBlock = Number(elements[0].dataset.position);
    const lastBlock = Number(elements.at(-1).dataset.position);
    const { section } = blocks.get(firstBlock);
    const { block } = blocks.get(firstBlock);
    picked = { elements, text, firstBlock, lastBlock, section, page: block.page };
    for (const element of elements) element.classList.add("picked");
    elements.at(-1).after(toolbar.element);
    toolbar.show(picked);
    if (focus) toolbar.focusFirst();
    else announce(`Passage picked from ${section.number ? `section ${section.number}` : section.heading}: the toolbar after it explains it.`);
  }

  function unpick({ clear }) {
    for (const element of picked?.elements ?? []) element.classList.remove("picked");
    const returnTo = picked?.elements.length === 1 && picked.elements[0].classList.contains("equation") ? picked.elements[0] : null;
    picked = null;
    toolbar.hide();
    if (clear) {
      document.getSelection()?.removeAllRanges();
      returnTo?.focus();
    }
  }

  function pickEquation(element, { focus }) {
    const selection = document.getSelection();
    const range = document.createRange();
    range.selectNodeContents(element.querySelector(".equation-math"));
    selection.removeAllRanges();
    selection.addRange(range);
    pick({ elements: [element], text: blockText(element, range) }, { focus });
  }

  // A triple click picks its paragraph whole: Chromium's own paragraph selection stops at
  // a formula inside it (inline MathML), leaving half a sentence picked.
  function selectParagraph(target) {
    const paragraph = target.closest?.(".block:not(.equation)");
    if (!paragraph) return;
    const range = document.createRange();
    range.selectNodeContents(paragraph);
    const selection = document.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function onPointerOrKeyUp(event) {
    if (toolbar.element.contains(event.target)) return;
    if (event.type === "mouseup" && event.detail >= 3) selectParagraph(event.target);
    const found = fromSelection();
    // An equation alone is picked whole by its click (or Enter) handler.
    const oneEquation = found?.elements.length === 1 && found.elements[0].classList.contains("equation");
    if (found && !oneEquation) pick(found, { focus: false });
    else if (!found && picked && document.getSelection()?.isCollapsed) unpick({ clear: false });
  }
  content.addEventListener("mouseup", onPointerOrKeyUp, { signal });
  content.addEventListener("keyup", onPointerOrKeyUp, { signal });
  content.addEventListener("touchend", onPointerOrKeyUp, { signal });

  // Near the end of what is shown, the next page comes in by itself.
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadMore();
  }, { rootMargin: "600px 0px" });
  signal.addEventListener("abort", () => observer.disconnect(), { once: true });

  addPage(doc);
  next = doc.next_block;
  earlierButton.hidden = first === 0;
  moreButton.hidden = next === null;
  observer.observe(moreButton);

  const meta = [
    doc.origin === "latex" ? "From its LaTeX source" : "From its PDF",
    doc.page_count ? plural(doc.page_count, "page") : null,
    plural(doc.section_count, "section"),
  ].filter(Boolean).join(" · ");
  const element = h(
    "article",
    { class: "paper", "aria-label": title },
    h("p", { class: "meta" }, meta),
    h("p", { class: "hint" }, "Select a passage, or pick an equation (click it, or Tab to it and press Enter), to explain it at a level or explain it back."),
    h("p", { id: hintId, hidden: true }, "Press Enter to pick this equation."),
    symbolsList(doc.symbols),
    h("div", { class: "actions" }, earlierButton),
    content,
    pageErrors,
    h("div", { class: "actions" }, moreButton),
  );

  /** Marks blocks `first`..`last` (those shown) and brings the first into view. */
  function reveal({ first: from, last }, { announceIt }) {
    const marked = [...blocks.keys()].filter((position) => position >= from && position <= last)
      .map((position) => content.querySelector(`[data-position="${position}"]`));
    for (const block of marked) block.classList.add("passage");
    if (!marked.length) return;
    marked[0].scrollIntoView({ block: "center" });
    const { section } = blocks.get(from) ?? blocks.get(Number(marked[0].dataset.position));
    if (announceIt) announce(`Showing the passage in ${section.number ? `section ${section.number}` : section.heading}.`);
  }

  return { element, reveal };
}

/** Puts `child` among `parent`'s children ordered by `keyOf`, after `after` if given. */
function insertInOrder(parent, child, key, keyOf, { after = null } = {}) {
  let candidate = after ? after.nextElementSibling : parent.firstElementChild;
  while (candidate && (candidate.dataset.position === undefined && candidate.dataset.index === undefined || keyOf(candidate) < key)) {
    candidate = candidate.nextElementSibling;
  }
  parent.insertBefore(child, candidate);
}

function symbolsList(symbols) {
  if (!symbols?.length) return null;
  return h(
    "details",
    { class: "paper-symbols" },
    h("summary", {}, `Symbols the paper defines (${symbols.length})`),
    h("dl", {}, symbols.flatMap((symbol) => [h("dt", {}, h("code", {}, symbol.symbol)), h("dd", {}, symbol.definition)])),
  );
}
