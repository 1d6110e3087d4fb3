// Tutor's browser app: plain ES modules, no build step.
import { takeKeyFromFragment } from "./lib/auth.js";
import { updateDueBadge } from "./lib/badge.js";
import { route, startRouter } from "./lib/router.js";

route("/", () => import("./pages/sessions.js"), { nav: "sessions" });
route("/sessions", () => import("./pages/sessions.js"), { nav: "sessions" });
route("/sessions/:id", () => import("./pages/session.js"), { nav: "sessions" });
route("/sessions/:id/:tab", () => import("./pages/session.js"), { nav: "sessions" });
route("/review", () => import("./pages/review.js"), { nav: "review" });
route("/cards", () => import("./pages/cards.js"), { nav: "cards" });
route("/sources", () => import("./pages/sources.js"), { nav: "sources" });
route("/sources/:id/paper", () => import("./pages/reader.js"), { nav: "sources" });
route("/sources/:id/paper/:block", () => import("./pages/reader.js"), { nav: "sources" });
route("/log", () => import("./pages/studylog.js"), { nav: "log" });
route("/stats", () => import("./pages/stats.js"), { nav: "stats" });
route("/knowledge", () => import("./pages/knowledge.js"), { nav: "knowledge" });
route("/settings", () => import("./pages/settings.js"), { nav: "settings" });

takeKeyFromFragment();
await startRouter(document.getElementById("view"));
updateDueBadge();
window.addEventListener("hashchange", updateDueBadge);
