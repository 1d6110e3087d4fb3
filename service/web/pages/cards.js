// Placeholder until this page is written.
import { fill, h } from "../lib/dom.js";

export async function render(view) {
  fill(view, h("h1", {}, "cards"), h("p", {}, "Not written yet."));
}
