// Sessions: the list, newest first; start one (optionally about a source); rename; delete.
import { api, listAll } from "../lib/api.js";
import { fill, formatDateTime, h, labelled } from "../lib/dom.js";
import { navigate } from "../lib/router.js";
import { announce, errorBox, whileBusy } from "../lib/ui.js";

export async function render(view, { signal }) {
  const [sessions, sources] = await Promise.all([
    listAll("sessions", { signal }),
    listAll("sources", { signal }),
  ]);
  const sourceTitles = new Map(sources.map((source) => [source.id, source.title]));
  const list = h("ul", { class: "list", "aria-label": "Sessions" });
  const errors = h("div");

  function renderList() {
    if (!sessions.length) {
      fill(list, h("li", { class: "empty" }, "No sessions yet: start one above, then paste a passage."));
      return;
    }
    fill(list, sessions.map((session) => sessionItem(session)));
  }

  function sessionItem(session) {
    const item = h("li", { class: "item", dataset: { sessionId: session.id } });
    const showTitle = () =>
      fill(
        item,
        h("h2", {}, h("a", { href: `#/sessions/${session.id}` }, session.title || "Untitled session")),
        h(
          "p",
          { class: "meta" },
          session.source_id ? `${sourceTitles.get(session.source_id) ?? "A source"} · ` : "",
          `last active ${formatDateTime(session.updated_at)}`,
        ),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", onclick: showRename }, "Rename"),
          h("button", { type: "button", class: "danger", onclick: remove }, "Delete"),
        ),
      );
    const showRename = () => {
      const { field, control } = labelled("New title", h("input", { value: session.title ?? "", maxlength: 200, required: true }));
      const slot = h("div");
      const save = h("button", { type: "submit", class: "primary" }, "Save");
      const form = h(
        "form",
        {
          onsubmit: async (event) => {
            event.preventDefault();
            const updated = await whileBusy(save, () => api.patch(`sessions/${session.id}`, { title: control.value.trim() }), slot);
            if (updated) {
              Object.assign(session, updated);
              showTitle();
              item.querySelector("a").focus();
            }
          },
        },
        field,
        h("div", { class: "actions" }, save, h("button", { type: "button", onclick: () => { showTitle(); item.querySelector("a").focus(); } }, "Cancel")),
        slot,
      );
      fill(item, form);
      control.focus();
      control.select();
    };
    const remove = async (event) => {
      const title = session.title || "Untitled session";
      if (!confirm(`Delete "${title}" and its messages? Cards made from it stay.`)) return;
      const deleted = await whileBusy(event.currentTarget, () => api.delete(`sessions/${session.id}`).then(() => true), errors);
      if (deleted) {
        sessions.splice(sessions.indexOf(session), 1);
        renderList();
        announce(`Deleted "${title}".`);
      }
    };
    showTitle();
    return item;
  }

  const title = labelled("Title (optional)", h("input", { name: "title", maxlength: 200, placeholder: "e.g. Attention Is All You Need, section 3.2" }));
  const source = labelled(
    "Source (optional)",
    h(
      "select",
      { name: "source" },
      h("option", { value: "" }, "None"),
      sources.map((item) => h("option", { value: item.id }, item.title)),
    ),
  );
  const start = h("button", { type: "submit", class: "primary" }, "Start session");
  const form = h(
    "form",
    {
      class: "item",
      "aria-label": "New session",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = { title: title.control.value.trim() || null, source_id: source.control.value || null };
        const created = await whileBusy(start, () => api.post("sessions", body), errors);
        if (created) navigate(`/sessions/${created.id}`);
      },
    },
    h("h2", {}, "New session"),
    title.field,
    source.field,
    start,
  );

  renderList();
  fill(view, h("h1", {}, "Sessions"), form, errors, h("h2", {}, "Your sessions"), list);
}
