// Where a passage came from in a paper, in words and as a link back to it in the reader.
import { h } from "./dom.js";

/** `#/sources/<id>/paper/<first>?last=<last>`: the reader opens there, the passage marked. */
export function passageHref(passage) {
  const last = passage.last_block ?? passage.first_block;
  return `#/sources/${passage.source_id}/paper/${passage.first_block}?last=${last}`;
}

/** "Attention Is All You Need §3.2.1 · p. 4": the section by number (else heading), the page if known. */
export function passageWords(passage) {
  const section = passage.section_number ? `§${passage.section_number}` : passage.section_heading;
  const where = [passage.paper_title, section].filter(Boolean).join(" ");
  return passage.page ? `${where} · p. ${passage.page}` : where;
}

/** "from Attention Is All You Need §3.2.1", linking to the passage. */
export function fromPaperLine(passage, { prefix = "from " } = {}) {
  return h(
    "p",
    { class: "meta from-paper" },
    prefix,
    h("a", { href: passageHref(passage) }, passageWords(passage)),
  );
}
