// The count of cards waiting today, next to "Review" in the navigation. Pages that
// change what is due (accepting, grading, suspending) call updateDueBadge() themselves.
import { api } from "./api.js";

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
