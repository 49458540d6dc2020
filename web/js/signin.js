// Sign-in form: POST /api/session as JSON (docs/readers-api.md), then back to the page.
const form = document.getElementById("signin");
const message = document.getElementById("signin-message");

// Where the visitor was going (`?next=`, set by the server's redirect): a path of this
// site only, never another origin ("//host", "/\\host").
function returnAddress() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return /^\/(?![/\\])/.test(next) ? next : "/";
}

function show(text) {
  message.textContent = text;
  message.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = JSON.stringify({
    name: form.elements.name.value.trim(),
    password: form.elements.password.value,
  });
  let response;
  try {
    response = await fetch("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
      credentials: "same-origin",
    });
  } catch {
    show("feedhub cannot be reached; try again.");
    return;
  }
  if (response.ok) {
    window.location.assign(returnAddress());
  } else if (response.status === 429) {
    const wait = response.headers.get("Retry-After") || "a few";
    show(`Too many failed attempts: wait ${wait} seconds.`);
  } else {
    show("Wrong name or password.");
  }
});
