// Placeholder until this page is written.
import { fill, h } from "../lib/dom.js";

export async function render(view) {
  fill(view, h("h1", {}, "studylog"), h("p", {}, "Not written yet."));
}
