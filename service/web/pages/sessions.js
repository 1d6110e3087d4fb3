// Sessions: the list, newest first; start one (optionally about a source); rename; delete.
import { api, listAll, sessionTitleFrom } from "../lib/api.js";
import { fill, formatDateTime, h, labelled, uniqueId } from "../lib/dom.js";
import { navigate } from "../lib/router.js";
import { announce, whileBusy } from "../lib/ui.js";

export async function render(view, { signal }) {
  const [sessions, sources] = await Promise.all([
    listAll("sessions", { signal }),
    listAll("sources", { signal }),
  ]);
  const sourceTitles = new Map(sources.map((source) => [source.id, source.title]));
  const list = h("ul", { class: "list", "aria-label": "Sessions" });
  const errors = h("div");
  const listHeading = h("h2", { tabindex: "-1" }, "Your sessions");

  function renderList() {
    if (!sessions.length) {
      fill(list, h("li", { class: "empty" }, "No sessions yet: start one above, then paste a passage."));
      return;
    }
    fill(list, sessions.map((session) => sessionItem(session)));
  }

  function sessionItem(session) {
    const item = h("li", { class: "item", dataset: { sessionId: session.id } });
    const slot = h("div"); // this session's errors, next to it rather than at the top
    const titleOf = () => session.title || "Untitled session";
    const showTitle = ({ focus = false } = {}) => {
      const titleId = uniqueId("session");
      fill(
        item,
        h(
          "article",
          { "aria-labelledby": titleId },
          h("h2", { id: titleId }, h("a", { href: `#/sessions/${session.id}` }, titleOf())),
          h(
            "p",
            { class: "meta" },
            session.source_id ? `${sourceTitles.get(session.source_id) ?? "A source"} · ` : "",
            `last active ${formatDateTime(session.updated_at)}`,
          ),
          h(
            "div",
            { class: "actions" },
            h("button", { type: "button", "data-action": "rename", onclick: showRename }, "Rename"),
            h("button", { type: "button", class: "danger", onclick: remove }, "Delete"),
          ),
          slot,
        ),
      );
      if (focus) item.querySelector('[data-action="rename"]').focus();
    };
    const showRename = () => {
      slot.replaceChildren();
      const { field, control } = labelled("New title", h("input", { value: session.title ?? "", maxlength: 200, required: true }));
      const formErrors = h("div");
      const save = h("button", { type: "submit", class: "primary" }, "Save");
      const cancel = () => showTitle({ focus: true });
      const form = h(
        "form",
        {
          "aria-label": `Rename ${titleOf()}`,
          onkeydown: (event) => {
            if (event.key === "Escape") cancel();
          },
          onsubmit: async (event) => {
            event.preventDefault();
            const newTitle = control.value.trim();
            if (!newTitle) {
              formErrors.replaceChildren(h("div", { class: "error", role: "alert" }, h("p", {}, "A title cannot be blank. Cancel keeps the old one.")));
              control.focus();
              return;
            }
            const updated = await whileBusy(save, () => api.patch(`sessions/${session.id}`, { title: newTitle }), formErrors);
            if (updated) {
              Object.assign(session, updated);
              showTitle({ focus: true });
              announce(`Renamed to "${titleOf()}".`);
            }
          },
        },
        field,
        h("div", { class: "actions" }, save, h("button", { type: "button", onclick: cancel }, "Cancel")),
        formErrors,
      );
      fill(item, form);
      control.focus();
      control.select();
    };
    const remove = async (event) => {
      const title = titleOf();
      if (!confirm(`Delete "${title}" and its messages? Cards made from it stay.`)) return;
      // Already gone (deleted in another tab) is what the learner asked for.
      const alreadyGone = (error) => {
        if (error.code === "session_not_found") return true;
        throw error;
      };
      const deleted = await whileBusy(event.currentTarget, () => api.delete(`sessions/${session.id}`).then(() => true, alreadyGone), slot);
      if (deleted) {
        const index = sessions.indexOf(session);
        sessions.splice(index, 1);
        renderList();
        // Focus goes where the deleted session was: the next one, else the list's heading.
        const next = list.children[Math.min(index, sessions.length - 1)];
        (sessions.length ? next.querySelector("a") : listHeading).focus();
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
        const sourceId = source.control.value || null;
        // Named after its source unless the learner names it, as "Start a session" on Sources does.
        const sourceTitle = sourceTitles.get(sourceId);
        const body = { title: title.control.value.trim() || (sourceTitle ? sessionTitleFrom(sourceTitle) : null), source_id: sourceId };
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
  fill(view, h("h1", {}, "Sessions"), form, errors, listHeading, list);
}
