// Tutor's browser app: plain ES modules, no build step.
import { api } from "./lib/api.js";
import { takeKeyFromFragment } from "./lib/auth.js";
import { route, startRouter } from "./lib/router.js";

route("/", () => import("./pages/sessions.js"), { nav: "sessions" });
route("/sessions", () => import("./pages/sessions.js"), { nav: "sessions" });
route("/sessions/:id", () => import("./pages/session.js"), { nav: "sessions" });
route("/sessions/:id/:tab", () => import("./pages/session.js"), { nav: "sessions" });
route("/review", () => import("./pages/review.js"), { nav: "review" });
route("/cards", () => import("./pages/cards.js"), { nav: "cards" });
route("/sources", () => import("./pages/sources.js"), { nav: "sources" });
route("/log", () => import("./pages/studylog.js"), { nav: "log" });
route("/stats", () => import("./pages/stats.js"), { nav: "stats" });
route("/settings", () => import("./pages/settings.js"), { nav: "settings" });

/** The count of cards waiting today, next to "Review" in the navigation. */
export async function updateDueBadge() {
  const badge = document.getElementById("due-badge");
  try {
    const queue = await api.get("reviews/queue?limit=1");
    const waiting = queue.counts.due + queue.counts.new + queue.counts.drill;
    badge.textContent = waiting ? String(waiting) : "";
    badge.hidden = !waiting;
    badge.setAttribute("aria-label", `${waiting} cards waiting`);
  } catch {
    badge.hidden = true; // the page itself shows any error
  }
}

takeKeyFromFragment();
await startRouter(document.getElementById("view"));
updateDueBadge();
window.addEventListener("hashchange", updateDueBadge);
