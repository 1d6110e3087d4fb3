// A request one page starts and another carries out after navigating there: the reader's
// Explain opens a new session, whose chat tab then sends the passage. It waits in
// sessionStorage, so it survives the navigation (and a reload before it is taken) but
// never reaches another tab, and it is taken once.
const PREFIX = "tutor.handoff.";

/** Leaves `payload` for the page that shows `kind` ("explain", "explain-back") of a session. */
export function handOver(kind, sessionId, payload) {
  sessionStorage.setItem(`${PREFIX}${kind}.${sessionId}`, JSON.stringify(payload));
}

/** What was left for this page, once: null when nothing was (or it is unreadable). */
export function takeOver(kind, sessionId) {
  const key = `${PREFIX}${kind}.${sessionId}`;
  const stored = sessionStorage.getItem(key);
  if (stored === null) return null;
  sessionStorage.removeItem(key);
  try {
    return JSON.parse(stored);
  } catch {
    return null;
  }
}
