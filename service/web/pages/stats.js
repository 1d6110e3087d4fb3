// Stats: today's numbers, the streak, retention, a year of reviews, the month ahead, and
// which scheduler predicts the learner best (schedulerstats.js).
import { api } from "../lib/api.js";
import { fill, formatDate, h, plural } from "../lib/dom.js";
import { schedulerPanel } from "./schedulerstats.js";

const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "long" });

export async function render(view, { signal }) {
  const stats = await api.get("stats", { signal });
  fill(
    view,
    h("h1", {}, "Stats"),
    h("p", { class: "meta" }, `Today is ${formatDate(stats.date)} (your day, in your timezone).`),
    figures(stats),
    heatmapSection(stats.heatmap),
    forecastSection(stats.forecast),
    schedulerPanel({ signal }),
  );
  // The newest weeks are the interesting ones: on a narrow screen, start the scroll there.
  const grid = view.querySelector(".heatmap");
  if (grid) grid.scrollLeft = grid.scrollWidth;
}

function figure(term, value, note = null) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value, note ? [" ", h("small", { class: "figure-note" }, note)] : null));
}

function figures({ today, streak_days: streak, retention_30d: retention, cards }) {
  return h(
    "dl",
    { class: "figures" },
    figure("Streak", plural(streak, "day")),
    figure(
      "Retention, 30 days",
      retention === null ? "—" : percent.format(retention),
      retention === null ? "no reviews in the last 30 days" : "graded 3 or better, drill excluded",
    ),
    figure("Reviewed today", String(today.reviewed)),
    figure("Correct today", String(today.correct), today.reviewed ? `of ${today.reviewed}` : null),
    figure("New cards today", String(today.new_started)),
    figure("Due remaining", String(today.due_remaining), "reviews and drill, new cards aside"),
    figure("Active cards", String(cards.active)),
    figure("Drafts", String(cards.draft)),
    figure("Suspended", String(cards.suspended)),
  );
}

/** 0 for no reviews, else 1–4 by quarters of the busiest day of the year. */
function level(reviews, busiest) {
  return reviews ? Math.min(4, Math.ceil((4 * reviews) / busiest)) : 0;
}

function dayOfWeekMondayFirst(isoDate) {
  return (new Date(`${isoDate}T12:00:00`).getDay() + 6) % 7;
}

function heatmapSection(days) {
  const section = h("section", { "aria-labelledby": "stats-year" }, h("h2", { id: "stats-year" }, "The past year"));
  const total = days.reduce((sum, day) => sum + day.reviews, 0);
  if (!total) {
    section.append(h("p", { class: "empty" }, "No reviews yet: each day you review will show here as a square."));
    return section;
  }
  const busiest = Math.max(...days.map((day) => day.reviews));
  const active = days.filter((day) => day.reviews).length;
  // Columns are weeks from Monday; blank squares before the first day line the rows up.
  const padding = Array.from({ length: dayOfWeekMondayFirst(days[0].date) }, () =>
    h("span", { class: "pad", "aria-hidden": "true" }),
  );
  const cells = days.map(({ date, reviews }) => {
    const words = `${plural(reviews, "review")} on ${formatDate(date)}`;
    return h("span", { role: "img", "aria-label": words, title: words, dataset: { level: level(reviews, busiest), date } });
  });
  const first = formatDate(days[0].date);
  const last = formatDate(days.at(-1).date);
  section.append(
    h("p", {}, `${plural(total, "review")} on ${plural(active, "day")} between ${first} and ${last}.`),
    h(
      "div",
      { class: "heatmap", role: "group", tabindex: "0", "aria-label": `Reviews per day, ${first} to ${last}` },
      padding,
      cells,
    ),
    h(
      "p",
      { class: "heatmap-legend meta" },
      `Each square is a day: columns are weeks, rows run from ${weekday.format(new Date(2024, 0, 1))} (top) to ${weekday.format(new Date(2024, 0, 7))}. `,
      h(
        "span",
        { class: "legend-scale" },
        "Fewer ",
        [0, 1, 2, 3, 4].map((value) => h("span", { class: "swatch", dataset: { level: value }, "aria-hidden": "true" })),
        ` more (up to ${plural(busiest, "review")} a day)`,
      ),
    ),
  );
  return section;
}

function forecastSection(forecast) {
  const section = h("section", { "aria-labelledby": "stats-forecast" }, h("h2", { id: "stats-forecast" }, "The next 30 days"));
  const total = forecast.reduce((sum, day) => sum + day.due, 0);
  if (!total) {
    section.append(h("p", { class: "empty" }, "No reviews are scheduled for the next 30 days yet."));
    return section;
  }
  const most = Math.max(...forecast.map((day) => day.due));
  const week = forecast.slice(0, 7).reduce((sum, day) => sum + day.due, 0);
  const describe = ({ date, due }) => `${formatDate(date)}: ${plural(due, "card")} due`;
  section.append(
    h(
      "p",
      {},
      `Tomorrow ${plural(forecast[0].due, "card")}, the next 7 days ${week}, the next 30 days ${total}.`,
    ),
    // The bars are a picture of the table below, which is what screen readers get.
    h(
      "div",
      { class: "bars", "aria-hidden": "true" },
      forecast.map((day) =>
        h("span", { title: describe(day), dataset: { date: day.date, due: day.due }, style: { height: `${(100 * day.due) / most}%` } }),
      ),
    ),
    h(
      "p",
      { class: "bars-axis meta", "aria-hidden": "true" },
      h("span", {}, formatDate(forecast[0].date)),
      h("span", {}, `highest: ${most}`),
      h("span", {}, formatDate(forecast.at(-1).date)),
    ),
    // A table ignores the small box that hides it, so a wrapper does the hiding.
    h(
      "div",
      { class: "visually-hidden" },
      h(
        "table",
        {},
        h("caption", {}, "Cards due per day, the next 30 days"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Date"), h("th", { scope: "col" }, "Cards due"))),
        h(
          "tbody",
          {},
          forecast.map(({ date, due }) => h("tr", {}, h("th", { scope: "row" }, formatDate(date)), h("td", {}, String(due)))),
        ),
      ),
    ),
  );
  return section;
}
