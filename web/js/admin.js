// The admin page: token in sessionStorage, feeds with health, add/delete/refresh through
// the admin API (DESIGN.md, "HTTP API"). API errors are shown with the server's words.

import { request } from "./api.js";
import { categoryItem, categoryOption, feedRow } from "./admin-view.js";

const TOKEN_KEY = "feedhub.adminToken";
const $ = (selector) => document.querySelector(selector);

const panel = $("#admin-panel");
const errorBox = $("#error");
const noticeBox = $("#notice");
let categories = [];
let feeds = [];

const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
const admin = (method, path, body) => request(method, `/api/admin${path}`, { token: token(), body });
const categoryName = (slug) => categories.find((c) => c.slug === slug)?.name ?? slug;

function say(box, text) {
  box.textContent = text;
  box.hidden = !text;
}

function showError(text) {
  say(noticeBox, "");
  say(errorBox, text);
}

function showNotice(text) {
  say(errorBox, "");
  say(noticeBox, text);
}

function signedIn(yes) {
  panel.hidden = !yes;
  $("#sign-out").hidden = !yes;
}

// Runs one API action with its button disabled; a 401 signs the page out.
async function act(control, fn) {
  if (control) control.disabled = true;
  try {
    await fn();
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      signedIn(false);
      showError(`The server refused the admin token: ${error.detail}`);
    } else {
      showError(error.detail || String(error));
    }
  } finally {
    if (control) control.disabled = false;
  }
}

function drawCategories() {
  $("#category-list").replaceChildren(...categories.map(categoryItem));
  const select = $("#feed-category");
  const current = select.value;
  select.replaceChildren(...categories.map(categoryOption));
  if (categories.some((c) => c.slug === current)) select.value = current;
}

function drawFeeds() {
  $("#feeds tbody").replaceChildren(...feeds.map((feed) => feedRow(feed, categoryName)));
  $("#feeds-empty").hidden = feeds.length > 0;
}

async function loadAll() {
  [feeds, categories] = await Promise.all([admin("GET", "/feeds"), request("GET", "/api/categories")]);
  drawCategories();
  drawFeeds();
  signedIn(true);
}

async function reloadFeeds() {
  feeds = await admin("GET", "/feeds");
  drawFeeds();
}

function feedById(id) {
  return feeds.find((feed) => feed.id === id);
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

$("#reload-feeds").addEventListener("click", (event) => act(event.currentTarget, reloadFeeds));

$("#add-feed-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const fields = event.currentTarget.elements;
  const body = { url: fields.url.value.trim(), category: fields.category.value };
  if (fields.title.value.trim()) body.title = fields.title.value.trim();
  act(event.submitter, async () => {
    const feed = await admin("POST", "/feeds", body);
    fields.url.value = "";
    fields.title.value = "";
    await reloadFeeds();
    showNotice(`Added ${feed.title || feed.url}. Its first poll is on its way.`);
  });
});

$("#feeds").addEventListener("click", (event) => {
  const control = event.target.closest("button[data-action]");
  if (!control) return;
  const feed = feedById(Number(control.closest("tr").dataset.id));
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
  const control = event.target.closest("button[data-action=delete-category]");
  if (!control) return;
  const slug = control.closest("li").dataset.slug;
  const name = categoryName(slug);
  act(control, async () => {
    if (!window.confirm(`Delete category ${name}?`)) return;
    await admin("DELETE", `/categories/${encodeURIComponent(slug)}`);
    await loadAll();
    showNotice(`Deleted category ${name}.`);
  });
});

if (token()) {
  $("#token").value = token();
  act(null, loadAll);
}
