// Placeholder until this tab is written.
import { fill, h } from "../lib/dom.js";

export async function renderTab(panel) {
  fill(panel, h("p", {}, "Not written yet."));
}
