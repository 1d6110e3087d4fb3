// Settings: the learner's name, day, daily limit, reminders; the scheduler
// (schedulersettings.js); signing out of this browser.
import { api } from "../lib/api.js";
import { forgetKey } from "../lib/auth.js";
import { updateDueBadge } from "../lib/badge.js";
import { fill, h, labelled } from "../lib/dom.js";
import { errorBox, whileBusy } from "../lib/ui.js";
import { schedulerSection } from "./schedulersettings.js";

const FORMATS = [
  { value: "json", label: "JSON (any service)" },
  { value: "slack", label: "Slack" },
  { value: "ntfy", label: "ntfy" },
];

function hourLabel(hour) {
  return `${String(hour).padStart(2, "0")}:00`;
}

function hourOptions() {
  return Array.from({ length: 24 }, (_, hour) => h("option", { value: String(hour) }, hourLabel(hour)));
}

function browserTimezone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  } catch {
    return "";
  }
}

function knownTimezones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

/** The field a 422 detail is about: "timezone", or ["body", "timezone"] from other servers. */
function fieldOf(detail) {
  if (typeof detail?.field === "string") return detail.field.split(".")[0];
  const location = Array.isArray(detail?.loc) ? detail.loc : [];
  return String(location[0] === "body" ? location[1] : location[0] ?? "");
}

export async function render(view, { signal }) {
  const [account, scheduler] = await Promise.all([api.get("me", { signal }), api.get("me/scheduler", { signal })]);
  let me = account;
  const here = browserTimezone();

  const fields = {
    // Read-only: a name is how the operator finds an account (`tutor learner rename`).
    name: labelled("Name", h("input", { readonly: true, autocomplete: "off" }), "Set by whoever runs Tutor: tutor learner rename."),
    timezone: labelled(
      "Timezone",
      h("input", { list: "timezone-list", autocomplete: "off", spellcheck: "false", placeholder: here || "Europe/Berlin" }),
      "An IANA name such as Europe/Berlin; your day and reminders follow it.",
    ),
    day_starts_at_hour: labelled("Your day starts at", h("select", {}, hourOptions()), "Reviews before this hour count for the day before."),
    new_cards_per_day: labelled("New cards per day", h("input", { type: "number", min: 0, max: 1000, step: 1, required: true, inputmode: "numeric" })),
    reminder_hour: labelled("Reminder", h("select", {}, h("option", { value: "" }, "No reminder"), hourOptions()), "When cards are due, a reminder goes to the webhook at this hour."),
    webhook_url: labelled("Webhook address (optional)", h("input", { type: "url", maxlength: 2048, placeholder: "https://ntfy.sh/your-topic" })),
    webhook_format: labelled("Webhook format", h("select", {}, FORMATS.map((f) => h("option", { value: f.value }, f.label)))),
  };
  const datalist = h("datalist", { id: "timezone-list" }, knownTimezones().map((zone) => h("option", { value: zone })));
  const useHere = h("button", { type: "button", class: "link", hidden: true }, `Use this browser's timezone (${here})`);
  useHere.addEventListener(
    "click",
    () => {
      fields.timezone.control.value = here;
      useHere.hidden = true;
      fields.timezone.control.focus();
    },
    { signal },
  );
  fields.timezone.field.append(useHere);

  // Each field gets a slot for its own error, referenced from the control.
  const fieldErrors = {};
  for (const [name, { field, control }] of Object.entries(fields)) {
    const slot = h("p", { id: `${control.id}-error`, class: "field-error", hidden: true });
    fieldErrors[name] = slot;
    field.append(slot);
    control.name = name;
  }

  const signedInAs = h("strong", {});

  function fillForm() {
    signedInAs.textContent = me.name;
    fields.name.control.value = me.name;
    fields.timezone.control.value = me.timezone;
    fields.day_starts_at_hour.control.value = String(me.day_starts_at_hour);
    fields.new_cards_per_day.control.value = String(me.new_cards_per_day);
    fields.reminder_hour.control.value = me.reminder_hour === null ? "" : String(me.reminder_hour);
    fields.webhook_url.control.value = me.webhook_url ?? "";
    fields.webhook_format.control.value = me.webhook_format;
    useHere.hidden = !here || here === me.timezone;
  }

  /** Only what changed, so one bad field never blocks saving another that was fine before. */
  function changes() {
    const wanted = {
      timezone: fields.timezone.control.value.trim(),
      day_starts_at_hour: Number(fields.day_starts_at_hour.control.value),
      new_cards_per_day: Number(fields.new_cards_per_day.control.value),
      reminder_hour: fields.reminder_hour.control.value === "" ? null : Number(fields.reminder_hour.control.value),
      webhook_url: fields.webhook_url.control.value.trim() || null,
      webhook_format: fields.webhook_format.control.value,
    };
    return Object.fromEntries(Object.entries(wanted).filter(([name, value]) => value !== me[name]));
  }

  function clearFieldErrors() {
    for (const [name, slot] of Object.entries(fieldErrors)) {
      slot.hidden = true;
      slot.textContent = "";
      const control = fields[name].control;
      control.removeAttribute("aria-invalid");
      const described = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((id) => id && id !== slot.id);
      if (described.length) control.setAttribute("aria-describedby", described.join(" "));
      else control.removeAttribute("aria-describedby");
    }
  }

  /** Puts each validation problem next to its field; returns whether any was placed. */
  function showFieldErrors(error) {
    if (error?.code !== "validation_error" || !Array.isArray(error.details)) return false;
    let first = null;
    for (const detail of error.details) {
      const name = fieldOf(detail);
      const slot = fieldErrors[name];
      if (!slot) continue;
      slot.textContent = slot.textContent ? `${slot.textContent} ${detail.message}` : detail.message;
      slot.hidden = false;
      const control = fields[name].control;
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), slot.id].filter(Boolean).join(" "));
      first ??= control;
    }
    first?.focus();
    return Boolean(first);
  }

  const formErrors = h("div");
  const save = h("button", { type: "submit", class: "primary" }, "Save settings");
  const saved = h("span", { class: "meta", role: "status" });
  const form = h(
    "form",
    {
      class: "item settings",
      "aria-labelledby": "settings-heading",
      onsubmit: async (event) => {
        event.preventDefault();
        clearFieldErrors();
        saved.textContent = "";
        const body = changes();
        if (!Object.keys(body).length) {
          saved.textContent = "Nothing changed.";
          return;
        }
        save.disabled = true;
        save.setAttribute("aria-busy", "true");
        formErrors.replaceChildren();
        try {
          me = await api.patch("me", body, { signal });
          fillForm();
          saved.textContent = "Saved.";
          updateDueBadge(); // a new day or daily limit changes what is waiting
        } catch (error) {
          if (error?.name === "AbortError") return;
          // What the learner typed stays in the form; the problems go next to their fields.
          formErrors.replaceChildren(errorBox(error));
          showFieldErrors(error);
        } finally {
          save.disabled = false;
          save.removeAttribute("aria-busy");
        }
      },
    },
    h("h2", { id: "settings-heading" }, "You and your day"),
    fields.name.field,
    fields.timezone.field,
    datalist,
    h("div", { class: "field-row" }, fields.day_starts_at_hour.field, fields.new_cards_per_day.field),
    h(
      "fieldset",
      {},
      h("legend", {}, "Reminders"),
      fields.reminder_hour.field,
      fields.webhook_url.field,
      fields.webhook_format.field,
    ),
    formErrors,
    h("div", { class: "actions" }, save, saved),
  );

  const signOut = h("button", { type: "button", class: "danger" }, "Sign out on this browser");
  signOut.addEventListener(
    "click",
    () =>
      whileBusy(signOut, async () => {
        forgetKey();
        location.reload();
      }),
    { signal },
  );

  fillForm();
  fill(
    view,
    h("h1", {}, "Settings"),
    form,
    schedulerSection(scheduler, { signal }),
    h(
      "section",
      { class: "item", "aria-labelledby": "sign-out-heading" },
      h("h2", { id: "sign-out-heading" }, "This browser"),
      h("p", {}, "Signed in as ", signedInAs, ". Signing out forgets the API key here: to come back you need that key, or a new one from ", h("code", {}, "tutor learner key <name>"), "."),
      signOut,
    ),
  );
}
