// One session: its title and three tabs (chat, explain it back, make cards).
import { api } from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { fromPaperLine } from "../lib/papers.js";

const TABS = [
  { slug: "", label: "Chat", load: () => import("./chat.js") },
  { slug: "explain-back", label: "Explain it back", load: () => import("./explainback.js") },
  { slug: "cards", label: "Make cards", load: () => import("./drafts.js") },
];

export async function render(view, { params, signal }) {
  const tab = TABS.find((candidate) => candidate.slug === (params.tab ?? ""));
  if (!tab) {
    fill(view, h("h1", {}, "Not found"), h("p", {}, "This session has no such tab. "), h("a", { href: `#/sessions/${params.id}` }, "Back to the chat"));
    return;
  }
  const [session, module] = await Promise.all([
    api.get(`sessions/${params.id}`, { signal }),
    tab.load(),
  ]);
  const source = session.source_id ? await api.get(`sources/${session.source_id}`, { signal }).catch(() => null) : null;
  const panel = h("section", { id: "session-panel", "aria-label": tab.label });
  fill(
    view,
    h("p", { class: "meta" }, h("a", { href: "#/" }, "← Sessions")),
    h("h1", {}, session.title || "Untitled session"),
    source ? h("p", { class: "meta" }, "Source: ", source.url ? h("a", { href: source.url, rel: "noopener noreferrer", target: "_blank" }, source.title) : source.title) : null,
    // The passage of the paper this session is about now (its latest picked in the reader).
    session.passage ? fromPaperLine(session.passage, { prefix: "Reading " }) : null,
    h(
      "nav",
      { class: "tabs", "aria-label": "Session" },
      TABS.map((candidate) =>
        h(
          "a",
          {
            href: `#/sessions/${session.id}${candidate.slug ? `/${candidate.slug}` : ""}`,
            "aria-current": candidate === tab ? "page" : null,
          },
          candidate.label,
        ),
      ),
    ),
    panel,
  );
  await module.renderTab(panel, { session, signal });
}
