// The admin page: an admin signed in on the reading page is let in by their session cookie
// (state changes carry its CSRF token); otherwise the admin token, kept in sessionStorage.
// Feeds with health, searched, filtered and paged in memory (a thousand feeds are one
// request and 50 rows in the DOM); edit, move, pause, refresh, delete; categories; users;
// OPML import and export. Errors: a sentence, details behind.

import { request, setStickyHeader } from "./api.js";
import { categoryItem, categoryOption, feedRow } from "./admin-view.js";
import { errorNodes } from "./admin-errors.js";
import { filterFeeds, pageOf } from "./admin-filter.js";
import { editFeed, renameCategory } from "./admin-dialogs.js";
import { drawReport, exportAll, importFile } from "./admin-opml.js";
import { usersSection } from "./admin-users.js";

const TOKEN_KEY = "feedhub.adminToken";
const $ = (selector) => document.querySelector(selector);

const panel = $("#admin-panel");
const errorBox = $("#error");
const noticeBox = $("#notice");
let categories = [];
let feeds = [];
let page = 1;
let account = null; // the signed-in admin's name, when the session cookie lets us in

const token = () => (account ? "" : sessionStorage.getItem(TOKEN_KEY) || "");
const admin = (method, path, body, extra = {}) =>
  request(method, `/api/admin${path}`, { token: token(), body, ...extra });
const categoryName = (slug) => categories.find((c) => c.slug === slug)?.name ?? slug;

function showError(text) {
  noticeBox.hidden = true;
  errorBox.replaceChildren(...errorNodes(text));
  errorBox.hidden = false;
}

function showNotice(text) {
  errorBox.hidden = true;
  noticeBox.textContent = text;
  noticeBox.hidden = !text;
}

function signedIn(yes) {
  panel.hidden = !yes;
  $("#sign-out").hidden = !yes || Boolean(account);
  $("#token-form").hidden = Boolean(account) && yes;
  const line = $("#account");
  line.textContent = account && yes ? `Signed in as ${account} (admin). ` : "";
  if (account && yes) {
    const back = Object.assign(document.createElement("a"), { href: "/", textContent: "Sign out on the reading page." });
    line.append(back);
  }
  line.hidden = !(account && yes);
}

// Runs one API action with its button disabled; a 401 signs the page out.
async function act(control, fn) {
  if (control) control.disabled = true;
  try {
    await fn();
  } catch (error) {
    if ((error.status === 401 || error.status === 403) && account) {
      // The session ended or lost its admin role: back to the token form.
      account = null;
      setStickyHeader("X-CSRF-Token", null);
      signedIn(false);
      showError(`The server refused your session (${error.detail}); sign in again or use the admin token`);
    } else if (error.status === 401 || error.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      signedIn(false);
      showError(`The server refused the admin token (${error.detail})`);
    } else {
      showError(error.detail || String(error));
    }
  } finally {
    if (control) control.disabled = false;
  }
}

function drawCategories() {
  $("#category-list").replaceChildren(...categories.map(categoryItem));
  for (const [select, keep] of [[$("#feed-category"), []], [$("#filter-category"), [$("#filter-category").options[0]]]]) {
    const current = select.value;
    select.replaceChildren(...keep, ...categories.map(categoryOption));
    if (current === "" || categories.some((c) => c.slug === current)) select.value = current;
  }
}

function filters() {
  const form = $("#feed-filter").elements;
  return { text: form.text.value, category: form.category.value, state: form.state.value };
}

function drawFeeds() {
  const shown = filterFeeds(feeds, filters(), categoryName);
  const view = pageOf(shown, page);
  page = view.page;
  $("#feeds tbody").replaceChildren(...view.rows.map((feed) => feedRow(feed, categoryName)));
  $("#feeds-empty").hidden = feeds.length > 0;
  const filtered = shown.length === feeds.length ? "" : ` (${shown.length} match)`;
  $("#feeds-count").textContent = feeds.length
    ? `Feeds ${shown.length ? view.start + 1 : 0}–${view.start + view.rows.length} of ${feeds.length}${filtered}`
    : "";
  $("#page-label").textContent = `Page ${view.page} of ${view.pages}`;
  $("#page-prev").disabled = view.page <= 1;
  $("#page-next").disabled = view.page >= view.pages;
  $(".pager").hidden = view.pages <= 1;
}

const users = usersSection({ admin, act: (control, fn) => act(control, fn), notice: showNotice, me: () => account });

async function loadAll() {
  let push;
  [feeds, categories, push] = await Promise.all([
    admin("GET", "/feeds"), request("GET", "/api/categories"), admin("GET", "/push"),
  ]);
  $("#push-status").textContent = `WebSub push ${push.status}`;
  await users.load();
  drawCategories();
  drawFeeds();
  signedIn(true);
}

// A signed-in admin needs no token: their cookie and CSRF token work on the admin API.
async function accountSignIn() {
  let session;
  try {
    session = await request("GET", "/api/session");
  } catch {
    return false; // private mode without a session, or the server is away: the token form
  }
  if (!session.user || session.user.role !== "admin") return false;
  account = session.user.name;
  setStickyHeader("X-CSRF-Token", session.csrf_token);
  return true;
}

async function reloadFeeds() {
  feeds = await admin("GET", "/feeds");
  drawFeeds();
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = $("#token").value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  act(event.submitter, async () => {
    await loadAll();
    showNotice("Signed in.");
  });
});

$("#sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  $("#token").value = "";
  signedIn(false);
  showNotice("The token is forgotten.");
});

$("#reload-feeds").addEventListener("click", (event) => act(event.currentTarget, loadAll));
$("#feed-filter").addEventListener("input", () => {
  page = 1;
  drawFeeds();
});
$("#feed-filter").addEventListener("submit", (event) => event.preventDefault());
$("#page-prev").addEventListener("click", () => { page -= 1; drawFeeds(); });
$("#page-next").addEventListener("click", () => { page += 1; drawFeeds(); });

$("#add-feed-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = event.currentTarget.elements;
  const body = { url: fields.url.value.trim(), category: fields.category.value };
  if (fields.title.value.trim()) body.title = fields.title.value.trim();
  act(event.submitter, async () => {
    const feed = await admin("POST", "/feeds", body);
    fields.url.value = "";
    fields.title.value = "";
    await loadAll();
    showNotice(`Added ${feed.title || feed.url}. Its first poll is on its way.`);
  });
});

$("#feeds").addEventListener("click", (event) => {
  const control = event.target.closest("button[data-action]");
  if (!control) return;
  const feed = feeds.find((f) => f.id === Number(control.closest("tr").dataset.id));
  if (!feed) return;
  const name = feed.title || feed.url;
  const actions = {
    async refresh() {
      const result = await admin("POST", `/feeds/${feed.id}/refresh`);
      await reloadFeeds();
      const n = result.new_articles;
      const detail = result.error ? `${result.status}: ${result.error}` : result.status;
      showNotice(`Refreshed ${name}: ${n} new article${n === 1 ? "" : "s"} (${detail}).`);
    },
    async edit() {
      const changed = await editFeed(feed, categories, admin);
      if (!changed) return;
      await loadAll();
      const moved = changed.category !== feed.category ? ` (now in ${categoryName(changed.category)})` : "";
      showNotice(`Saved ${changed.title || changed.url}${moved}.`);
    },
    async toggle() {
      await admin("PATCH", `/feeds/${feed.id}`, { enabled: !feed.enabled });
      await reloadFeeds();
      showNotice(`${feed.enabled ? "Paused" : "Resumed"} ${name}.`);
    },
    async delete() {
      if (!window.confirm(`Delete ${name} and its articles?`)) return;
      await admin("DELETE", `/feeds/${feed.id}`);
      await loadAll();
      showNotice(`Deleted ${name}.`);
    },
  };
  act(control, actions[control.dataset.action]);
});

$("#add-category-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = event.currentTarget.elements;
  const body = { name: fields.name.value.trim() };
  if (fields.slug.value.trim()) body.slug = fields.slug.value.trim();
  act(event.submitter, async () => {
    const category = await admin("POST", "/categories", body);
    fields.name.value = "";
    fields.slug.value = "";
    await loadAll();
    showNotice(`Added category ${category.name}.`);
  });
});

$("#category-list").addEventListener("click", (event) => {
  const control = event.target.closest("button[data-action]");
  if (!control) return;
  const category = categories.find((c) => c.slug === control.closest("li").dataset.slug);
  if (!category) return;
  act(control, async () => {
    if (control.dataset.action === "rename-category") {
      const renamed = await renameCategory(category, admin);
      if (!renamed) return;
      await loadAll();
      showNotice(`Renamed ${category.name} to ${renamed.name}.`);
      return;
    }
    if (!window.confirm(`Delete category ${category.name}?`)) return;
    await admin("DELETE", `/categories/${encodeURIComponent(category.slug)}`);
    await loadAll();
    showNotice(`Deleted category ${category.name}.`);
  });
});

$("#opml-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = event.currentTarget.elements.file.files[0];
  if (!file) return;
  act(event.submitter, async () => {
    const report = await importFile(file, admin);
    drawReport($("#opml-report"), report);
    await loadAll();
    showNotice(`Imported ${file.name}: ${report.created} new feed${report.created === 1 ? "" : "s"}.`);
  });
});

$("#opml-export").addEventListener("click", (event) => act(event.currentTarget, () => exportAll(admin)));

act(null, async () => {
  if (await accountSignIn()) {
    await loadAll();
  } else if (token()) {
    $("#token").value = token();
    await loadAll();
  }
});
