// The forms that write a card: a new card by hand, and a card edited in place.
import { api } from "../lib/api.js";
import { clearDraft, keepDraft } from "../lib/drafts.js";
import { h, labelled } from "../lib/dom.js";
import { whileBusy } from "../lib/ui.js";

/** "attention, softmax scaling" → ["attention", "softmax scaling"] (the server joins inner spaces with _). */
export function parseTags(text) {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

const TAGS_HINT = "Separate tags with commas; spaces inside a tag become _.";
const CLOZE_HINT = "Cloze: hide the answer inside the front with {{c1::…}}, e.g. “Attention divides by {{c1::√d_k}}”. The back is then optional extra.";

function backLabel(kind) {
  return kind === "cloze" ? "Extra (optional)" : "Back";
}

/** The front, back and tags of a card as three labelled controls. */
function sideFields({ front = "", back = "", tags = [] }, kind) {
  const frontField = labelled("Front", h("textarea", { name: "front", rows: 3, required: true, maxlength: 5000, value: front }), "Markdown, with $…$ for math.");
  const backField = labelled(backLabel(kind), h("textarea", { name: "back", rows: 3, maxlength: 5000, value: back, required: kind !== "cloze" }));
  const tagsField = labelled("Tags", h("input", { name: "tags", value: tags.join(", "), autocomplete: "off" }), TAGS_HINT);
  return { frontField, backField, tagsField };
}

/**
 * The edit form for `card`, in place of the card. `onSaved(card)` gets the server's copy;
 * `onCancel()` goes back. What was typed stays in the form when saving fails.
 */
export function cardEditForm(card, { onSaved, onCancel, signal }) {
  const { frontField, backField, tagsField } = sideFields(card, card.kind);
  const slot = h("div");
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    {
      class: "card-edit",
      "aria-label": "Edit card",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = {
          front: frontField.control.value,
          back: backField.control.value,
          tags: parseTags(tagsField.control.value),
        };
        const updated = await whileBusy(save, () => api.patch(`cards/${card.id}`, body, { signal }), slot);
        if (updated) onSaved(updated);
      },
      onkeydown: (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          onCancel();
        }
      },
    },
    frontField.field,
    backField.field,
    tagsField.field,
    h("div", { class: "actions" }, save, h("button", { type: "button", onclick: onCancel }, "Cancel")),
    slot,
  );
  return { form, focus: () => frontField.control.focus() };
}

/**
 * "New card": written by hand, active at once. `sources` fill the source select;
 * `sourceId` is preselected. `onCreated(card)` gets the server's copy.
 */
export function newCardForm({ sources, sourceId = "", onCreated, signal }) {
  const { frontField, backField, tagsField } = sideFields({}, "basic");
  const kind = labelled(
    "Kind",
    h("select", { name: "kind" }, h("option", { value: "basic" }, "Basic: question and answer"), h("option", { value: "cloze" }, "Cloze: fill in the gap")),
    CLOZE_HINT,
  );
  const source = labelled(
    "Source (optional)",
    h(
      "select",
      { name: "source" },
      h("option", { value: "" }, "None"),
      sources.map((item) => h("option", { value: item.id, selected: item.id === sourceId }, item.title)),
    ),
  );
  kind.control.addEventListener(
    "change",
    () => {
      const isCloze = kind.control.value === "cloze";
      backField.control.required = !isCloze;
      backField.field.querySelector("label").textContent = backLabel(kind.control.value);
    },
    { signal },
  );
  for (const [field, name] of [[frontField, "front"], [backField, "back"], [tagsField, "tags"]]) {
    keepDraft(field.control, `newcard.${name}`, { signal });
  }
  const slot = h("div");
  const create = h("button", { type: "submit", class: "primary" }, "Add card");
  const form = h(
    "form",
    {
      class: "new-card",
      "aria-label": "New card",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = {
          front: frontField.control.value,
          back: backField.control.value,
          kind: kind.control.value,
          tags: parseTags(tagsField.control.value),
          source_id: source.control.value || null,
        };
        const created = await whileBusy(create, () => api.post("cards", body, { signal }), slot);
        if (!created) return;
        for (const [field, name] of [[frontField, "front"], [backField, "back"], [tagsField, "tags"]]) {
          clearDraft(field.control, `newcard.${name}`);
        }
        onCreated(created);
        frontField.control.focus();
      },
    },
    frontField.field,
    backField.field,
    h("div", { class: "field-row" }, kind.field, source.field),
    tagsField.field,
    create,
    slot,
  );
  const hasDraft = Boolean(frontField.control.value || backField.control.value || tagsField.control.value);
  return { form, hasDraft };
}
