// Cards in and out: an Anki package or CSV to download; a CSV, Anki text or Anki package
// to import.
import { api } from "../lib/api.js";
import { fill, h, labelled, plural } from "../lib/dom.js";
import { announce, saveFile, whileBusy } from "../lib/ui.js";

// The server's limits, checked here to save an upload.
const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
const MAX_PACKAGE_BYTES = 100 * 1024 * 1024;

/** An Anki package (its own endpoint and report) or text (CSV, Anki's plain text). */
function isPackage(file) {
  return /\.(apkg|colpkg)$/i.test(file.name);
}

/** The export and import section; `onImported()` runs after cards came in. */
export function exchangeSection({ onImported, signal }) {
  const includeAll = h("input", { type: "checkbox", name: "include-all" });
  const exportErrors = h("div");

  async function download(button, format) {
    // The two exports have opposite defaults: Anki takes active cards, CSV takes all.
    const all = includeAll.checked;
    const query = format === "anki" ? (all ? "?include=all" : "") : all ? "" : "?include=active";
    const file = await whileBusy(button, () => api.download(`export/${format}${query}`, { signal }), exportErrors);
    if (file) {
      saveFile(file);
      announce(`Downloaded ${file.filename}.`);
    }
  }

  const exportPart = h(
    "section",
    { "aria-labelledby": "export-heading" },
    h("h3", { id: "export-heading" }, "Export"),
    h("label", { class: "check" }, includeAll, " Include drafts and suspended cards"),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: (event) => download(event.currentTarget, "anki") }, "Download for Anki (.apkg)"),
      h("button", { type: "button", onclick: (event) => download(event.currentTarget, "csv") }, "Download CSV"),
    ),
    h(
      "p",
      { class: "hint" },
      "Importing a newer Anki package updates the notes you edited here and leaves the rest alone. ",
      "To keep your progress and review history, tick “Import any learning progress” in Anki's import dialog.",
    ),
    exportErrors,
  );

  const file = labelled(
    "File to import",
    h("input", { type: "file", name: "file", accept: ".apkg,.colpkg,.csv,.txt,text/csv,text/plain", required: true }),
    "An Anki package (.apkg or .colpkg, up to 100 MiB: cards, decks, progress and review history), UTF-8 CSV with front and back columns (tags optional), or Anki's “Notes in Plain Text” export (up to 5 MiB). Imported cards are active at once.",
  );
  const importErrors = h("div");
  const report = h("div", { class: "import-report" });
  const importButton = h("button", { type: "submit", class: "primary" }, "Import cards");
  const importPart = h(
    "form",
    {
      "aria-labelledby": "import-heading",
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = file.control.files[0];
        report.replaceChildren();
        if (!chosen) return;
        const asPackage = isPackage(chosen);
        const limit = asPackage ? MAX_PACKAGE_BYTES : MAX_IMPORT_BYTES;
        if (chosen.size > limit) {
          const size = asPackage ? "100 MiB" : "5 MiB: split it into smaller files";
          importErrors.replaceChildren(h("div", { class: "error", role: "alert" }, h("p", {}, `${chosen.name} is larger than ${size}.`)));
          return;
        }
        const form = new FormData();
        form.append("file", chosen, chosen.name);
        const path = asPackage ? "import/apkg" : "import/csv";
        const result = await whileBusy(importButton, () => api.upload(path, form, { signal }), importErrors);
        if (!result) return;
        if (asPackage) showPackageReport(result, chosen.name);
        else showReport(result, chosen.name);
        file.control.value = "";
        if (result.imported || result.updated || result.cards_created || result.cards_updated) onImported();
      },
    },
    h("h3", { id: "import-heading" }, "Import"),
    file.field,
    importButton,
    importErrors,
    report,
  );

  function showReport(result, name) {
    // `updated`: cards whose Anki notes (by their GUID) were edited in Anki.
    const summary = `${name}: imported ${plural(result.imported, "card")}` +
      (result.updated ? `, updated ${plural(result.updated, "card")}` : "") +
      (result.skipped_duplicates ? `, skipped ${plural(result.skipped_duplicates, "duplicate")}` : "") +
      (result.errors.length ? `, ${plural(result.errors.length, "line")} not imported.` : ".");
    fill(
      report,
      h("p", { class: result.errors.length ? "notice" : "notice ok" }, summary),
      result.errors.length
        ? h(
            "ul",
            { class: "import-errors", "aria-label": "Lines not imported" },
            result.errors.map((error) => h("li", {}, h("strong", {}, `Line ${error.line}: `), error.message)),
          )
        : null,
    );
    announce(summary);
  }

  function showPackageReport(result, name) {
    const summary =
      `${name}: ${plural(result.notes, "note")}; ` +
      `${plural(result.cards_created, "new card")}, ${result.cards_updated} updated, ${result.cards_unchanged} unchanged; ` +
      `${plural(result.reviews_added, "review")} added` +
      (result.sources_created ? `, ${plural(result.sources_created, "deck")} added as sources` : "") +
      (result.notes_skipped ? `; ${plural(result.notes_skipped, "note")} of types Tutor does not know left out.` : ".");
    fill(
      report,
      h("p", { class: result.problems.length ? "notice" : "notice ok" }, summary),
      result.problems.length
        ? h("ul", { class: "import-errors", "aria-label": "What did not come through" }, result.problems.map((problem) => h("li", {}, problem)))
        : null,
    );
    announce(summary);
  }

  return h("section", { class: "exchange", "aria-labelledby": "exchange-heading" }, h("h2", { id: "exchange-heading" }, "Export and import"), exportPart, importPart);
}
