// The key arrives in the URL fragment (never sent to the server, so never in its logs);
// keep it in localStorage and take it out of the address bar at once.
const STORAGE_KEY = "tutor.apiKey";

function takeKeyFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get("key");
  if (key) {
    localStorage.setItem(STORAGE_KEY, key);
    history.replaceState(null, "", location.pathname + location.search);
  }
}

async function showLearner() {
  const status = document.getElementById("status");
  const form = document.getElementById("key-form");
  const key = localStorage.getItem(STORAGE_KEY);
  if (!key) {
    status.textContent = "Paste the API key that `tutor serve` or `tutor learner add` printed.";
    form.hidden = false;
    return;
  }
  const response = await fetch("v1/me", { headers: { Authorization: `Bearer ${key}` } });
  if (response.ok) {
    const learner = await response.json();
    status.textContent = `Signed in as ${learner.name} (${learner.timezone}).`;
    form.hidden = true;
    return;
  }
  const body = await response.json().catch(() => null);
  status.textContent = body?.error?.message ?? `The server answered ${response.status}.`;
  localStorage.removeItem(STORAGE_KEY);
  form.hidden = false;
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(STORAGE_KEY, document.getElementById("key").value.trim());
  showLearner();
});

takeKeyFromFragment();
showLearner();
