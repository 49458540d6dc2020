// Sign-in, sign-out and the account dialog with the reader's sessions, on the
// readers API (docs/readers-api.md). A server without accounts, or an anonymous reader,
// keeps the page as it was: local read marks only.

import { ApiError, request, setStickyHeader } from "./api.js";
import { LocalMarks } from "./marks.js";
import { ServerState } from "./state.js";
import { relativeTime } from "./time.js";
import { setUpFeedKey, showFeedKey } from "./feedkey.js";
import { drawHidden, setUpHidden } from "./hidden.js";

const $ = (selector) => document.querySelector(selector);

let hooks = null;
let session = null; // the last GET/POST /api/session answer

function wireDialog(dialog) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      dialog.close();
    });
  }
}

function signedOut() {
  session = { ...(session || {}), user: null, csrf_token: null };
  setStickyHeader("X-CSRF-Token", null);
  $("#account").hidden = true;
  $("#sign-in").hidden = false;
  $("#views").hidden = true;
  $("#mark-all").hidden = true;
  hooks.setState(new LocalMarks());
  hooks.drawCounts(null);
  showFeedKey(null);
}

function signedIn(answer) {
  session = answer;
  setStickyHeader("X-CSRF-Token", answer.csrf_token);
  showFeedKey(answer.feed_key);
  const account = $("#account");
  account.textContent = answer.user.name;
  account.setAttribute("aria-label", `Account: ${answer.user.name}`);
  account.hidden = false;
  $("#sign-in").hidden = true;
  $("#views").hidden = false;
  $("#mark-all").hidden = false;
  // A reply asked for before a sign-out can land after it: counts or changes from a state
  // the page has let go must not draw a signed-out page's chips.
  const current = () => state === hooks.state();
  const state = new ServerState({
    onChange: (change) => {
      if (!current()) return;
      if (change.all_read) state.markCovered(hooks.items(), change.all_read);
      hooks.redrawStates();
    },
    onCounts: (counts) => {
      if (current()) hooks.drawCounts(counts);
    },
    onSignedOut: async () => {
      if (!current()) return; // already handled
      signedOut();
      hooks.restartStream();
      await hooks.reload();
      hooks.showMessage("You were signed out (the session ended or was revoked). Sign in again to sync.");
    },
  });
  hooks.setState(state);
  state.refreshCounts();
}

async function submitSignIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $("#sign-in-error");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  error.hidden = true;
  try {
    const answer = await request("POST", "/api/session", {
      body: { name: form.elements.name.value.trim(), password: form.elements.password.value },
    });
    form.reset();
    $("#sign-in-dialog").close();
    signedIn(answer);
    await hooks.reload();
    hooks.restartStream(); // the stream now carries this reader's `event: state`
    hooks.announce(`Signed in as ${answer.user.name}.`);
    $("#account").focus();
  } catch (failure) {
    error.textContent =
      failure.status === 401 ? "Wrong name or password." :
      failure.status === 429 ? `Too many attempts. ${failure.detail}` :
      failure.detail || String(failure);
    error.hidden = false;
    form.elements.password.select();
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await request("DELETE", "/api/session");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      hooks.showMessage(`Could not sign out: ${error.detail || error}`);
      return;
    }
  }
  $("#account-dialog").close();
  signedOut();
  if (session?.reading === "private") {
    location.assign("/signin");
    return;
  }
  await hooks.reload();
  hooks.restartStream();
  hooks.announce("Signed out.");
  $("#sign-in").focus();
}

function describe(item) {
  const agent = item.user_agent ? item.user_agent.slice(0, 80) : item.kind === "api" ? "An app (Google Reader API)" : "A browser";
  const seen = item.last_seen_at ? `last seen ${relativeTime(new Date(item.last_seen_at))}` : "";
  return [item.current ? "This device" : agent, seen].filter(Boolean).join(" · ");
}

async function drawSessions() {
  const list = $("#sessions");
  list.replaceChildren();
  let sessions;
  try {
    sessions = await request("GET", "/api/me/sessions");
  } catch (error) {
    if (error.status === 401) signedOut();
    list.textContent = `Could not list sessions: ${error.detail || error}`;
    return;
  }
  for (const item of sessions) {
    const row = document.createElement("li");
    row.dataset.id = String(item.id);
    const text = document.createElement("span");
    text.textContent = describe(item);
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "button button-danger";
    revoke.textContent = item.current ? "Sign out here" : "Revoke";
    revoke.setAttribute("aria-label", `${revoke.textContent}: ${describe(item)}`);
    revoke.addEventListener("click", async () => {
      if (item.current) return signOut();
      try {
        await request("DELETE", `/api/me/sessions/${item.id}`);
        row.remove();
        hooks.announce("Session revoked.");
      } catch (error) {
        hooks.showMessage(`Could not revoke: ${error.detail || error}`);
      }
    });
    row.append(text, revoke);
    list.append(row);
  }
}

export async function startAccount(pageHooks) {
  hooks = pageHooks;
  wireDialog($("#sign-in-dialog"));
  wireDialog($("#account-dialog"));
  setUpFeedKey({ announce: pageHooks.announce, showMessage: pageHooks.showMessage });
  setUpHidden(pageHooks);
  $("#sign-in").addEventListener("click", () => {
    $("#sign-in-error").hidden = true;
    $("#sign-in-dialog").showModal();
  });
  $("#sign-in-form").addEventListener("submit", submitSignIn);
  $("#account").addEventListener("click", () => {
    $("#account-who").textContent = `Signed in as ${session.user.name} (${session.user.role}).`;
    $("#account-dialog").showModal();
    drawHidden();
    drawSessions();
  });
  $("#sign-out").addEventListener("click", signOut);
  try {
    session = await request("GET", "/api/session");
  } catch {
    return; // no accounts on this server (or it is down): anonymous reading, as before
  }
  if (session.user) signedIn(session);
  else signedOut();
}
