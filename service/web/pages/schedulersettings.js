// Settings: which scheduler plans the reviews (SM-2 or FSRS), FSRS's desired retention,
// and going back from fitted parameters to the defaults. Every change is one PATCH of
// /v1/me/scheduler; the server derives each card's schedule again from its review log.
import { api } from "../lib/api.js";
import { updateDueBadge } from "../lib/badge.js";
import { h, labelled, plural, uniqueId } from "../lib/dom.js";
import { errorBox } from "../lib/ui.js";

const CHOICES = [
  {
    value: "sm2",
    label: "SM-2",
    hint: "The classic SuperMemo-2: you grade each card 0–5, and its interval grows by how easy it has been.",
  },
  {
    value: "fsrs",
    label: "FSRS",
    hint: "Models how well you remember each card and brings it back when your chance of recalling it falls to the retention below; you answer Again, Hard, Good or Easy, as in Anki.",
  },
];

const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });

/** The section of the settings page, drawn from GET /v1/me/scheduler. */
export function schedulerSection(initial, { signal }) {
  let current = initial;

  const radios = CHOICES.map((choice) => {
    const id = uniqueId("scheduler");
    const input = h("input", { type: "radio", name: "scheduler", value: choice.value, id, "aria-describedby": `${id}-hint` });
    return {
      input,
      element: h(
        "div",
        { class: "choice" },
        input,
        h("label", { for: id }, choice.label),
        h("small", { id: `${id}-hint`, class: "hint" }, choice.hint),
      ),
    };
  });
  const chooser = h("fieldset", { class: "choices" }, h("legend", {}, "Plan my reviews with"), radios.map((radio) => radio.element));

  const retention = labelled(
    "Desired retention",
    h("input", { type: "number", name: "desired_retention", min: "0.70", max: "0.99", step: "0.01", inputmode: "decimal", required: true }),
    "The chance of recalling a card when it comes due, 0.70 to 0.99: higher = more reviews.",
  );
  const asPercent = h("span", { class: "retention-percent", "aria-hidden": "true" });
  const retentionRow = h("div", { class: "retention-row" }, retention.control, asPercent);
  retention.field.insertBefore(retentionRow, retention.field.querySelector(".hint"));
  const unused = h("p", { class: "meta", id: uniqueId("retention-unused") }, "Used by FSRS only: SM-2 does not read it.");
  const retentionError = h("p", { id: `${retention.control.id}-error`, class: "field-error", hidden: true });
  retention.field.append(unused, retentionError);

  const parameters = h("div", { class: "fsrs-parameters" });
  const formErrors = h("div");
  const status = h("p", { class: "meta", role: "status" });
  const save = h("button", { type: "submit", class: "primary" }, "Save scheduler");

  function chosen() {
    return radios.find((radio) => radio.input.checked)?.input.value ?? current.scheduler;
  }

  /** The retention field follows the radio buttons: SM-2 has no use for it. */
  function showChoice() {
    const sm2 = chosen() === "sm2";
    retention.control.disabled = sm2;
    unused.hidden = !sm2;
    describe(retention.control, unused.id, sm2);
  }

  function showPercent() {
    const value = Number(retention.control.value);
    asPercent.textContent = retention.control.value !== "" && Number.isFinite(value) ? `= ${percent.format(value)}` : "";
  }

  function fillForm() {
    for (const radio of radios) radio.input.checked = radio.input.value === current.scheduler;
    retention.control.value = current.desired_retention.toFixed(2);
    showPercent();
    showChoice();
    showParameters();
  }

  function showParameters() {
    if (!current.fsrs_parameters_fitted) {
      parameters.replaceChildren(
        h(
          "p",
          { class: "meta" },
          "FSRS uses its default parameters. Once you have enough reviews, fit them to your own memory on the ",
          h("a", { href: "#/stats" }, "Stats page"),
          ".",
        ),
      );
      return;
    }
    const back = h("button", { type: "button" }, "Go back to default parameters");
    back.addEventListener("click", () => send({ fsrs_parameters: null }, back, "Back to FSRS's default parameters."), { signal });
    parameters.replaceChildren(h("p", {}, "FSRS uses parameters fitted to your own reviews."), back);
  }

  function setError(message) {
    retentionError.textContent = message ?? "";
    retentionError.hidden = !message;
    if (message) retention.control.setAttribute("aria-invalid", "true");
    else retention.control.removeAttribute("aria-invalid");
    describe(retention.control, retentionError.id, Boolean(message));
  }

  /** Only what changed; the retention only while FSRS is chosen (SM-2 leaves it be). */
  function changes() {
    const body = {};
    const scheduler = chosen();
    if (scheduler !== current.scheduler) body.scheduler = scheduler;
    if (scheduler === "fsrs") {
      const value = retention.control.value === "" ? null : Number(retention.control.value);
      if (value === null || Math.abs(value - current.desired_retention) > 1e-9) body.desired_retention = value;
    }
    return body;
  }

  async function send(body, button, what) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    formErrors.replaceChildren();
    status.textContent = "";
    try {
      const changed = await api.patch("me/scheduler", body, { signal });
      const rescheduled = changed.rescheduled_cards;
      current = changed;
      fillForm();
      status.textContent = rescheduled
        ? `${what} ${plural(rescheduled, "card")} rescheduled from ${rescheduled === 1 ? "its" : "their"} review history, which is unchanged.`
        : `${what} No card's schedule changed; your review history is unchanged.`;
      if (rescheduled) updateDueBadge(); // another scheduler can bring other cards due today
      if (!document.activeElement || document.activeElement === document.body) save.focus();
    } catch (error) {
      if (error?.name === "AbortError") return;
      // What the learner typed stays; a problem with the retention goes next to it.
      const detail = error?.code === "validation_error" && Array.isArray(error.details)
        ? error.details.find((d) => String(d?.field ?? "").split(".")[0] === "desired_retention")
        : null;
      if (detail) {
        setError(`${detail.message}: choose from 0.70 to 0.99 (70% to 99%).`);
        retention.control.focus();
      } else {
        formErrors.replaceChildren(errorBox(error));
      }
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  const form = h(
    "form",
    { class: "item settings scheduler-settings", "aria-labelledby": "scheduler-heading", novalidate: true },
    h("h2", { id: "scheduler-heading" }, "Scheduler"),
    h(
      "p",
      { class: "hint" },
      "Which algorithm decides when each card comes back. Switching keeps every review you made: each card's schedule is worked out again from its history.",
    ),
    chooser,
    retention.field,
    parameters,
    formErrors,
    h("div", { class: "actions" }, save, status),
  );
  // The browser's own range check would stop the form before the server explains it.
  form.addEventListener(
    "submit",
    (event) => {
      event.preventDefault();
      setError(null);
      const body = changes();
      if (!Object.keys(body).length) {
        status.textContent = "Nothing changed.";
        return;
      }
      if (body.desired_retention === null) {
        setError("Enter a number from 0.70 to 0.99.");
        retention.control.focus();
        return;
      }
      const what = body.scheduler ? `Saved: ${body.scheduler === "fsrs" ? "FSRS" : "SM-2"} plans your reviews now.` : "Saved.";
      send(body, save, what);
    },
    { signal },
  );
  chooser.addEventListener("change", showChoice, { signal });
  retention.control.addEventListener("input", showPercent, { signal });

  fillForm();
  return form;
}

/** Adds or removes `id` among the control's descriptions. */
function describe(control, id, on) {
  const ids = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((other) => other && other !== id);
  if (on) ids.push(id);
  if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
  else control.removeAttribute("aria-describedby");
}
