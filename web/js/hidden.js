// Hidden feeds and categories, in the account dialog: a reader hides a feed or a category
// from their own lists, counts, stream and apps, and shows it again (GET/PUT/DELETE
// /api/me/hidden, docs/readers-api.md). The server leaves them out of every answer for
// this reader; after a change the page reloads its categories, list, counts and stream.

import { request } from "./api.js";

const $ = (selector) => document.querySelector(selector);

let hooks = null;

function option(value, text) {
  const item = document.createElement("option");
  item.value = value;
  item.textContent = text;
  return item;
}

// Categories from the server; feeds from the articles on the page (feeds stay the
// admins': a reader hides what they see).
async function drawChoices() {
  const choice = $("#hide-choice");
  const categories = await request("GET", "/api/categories");
  const feeds = new Map();
  for (const card of hooks.items()) {
    const title = card.querySelector(".feed")?.textContent;
    if (card.dataset.feed && title) feeds.set(card.dataset.feed, title);
  }
  const groups = [
    ["Categories", categories.map((c) => option(`category:${c.slug}`, c.name))],
    ["Feeds", [...feeds].sort((a, b) => a[1].localeCompare(b[1])).map(([id, title]) => option(`feed:${id}`, title))],
  ];
  choice.replaceChildren();
  for (const [label, options] of groups) {
    if (!options.length) continue;
    const group = document.createElement("optgroup");
    group.label = label;
    group.append(...options);
    choice.append(group);
  }
}

function row(text, path) {
  const item = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = text;
  const show = document.createElement("button");
  show.type = "button";
  show.className = "button button-quiet";
  show.textContent = "Show";
  show.setAttribute("aria-label", `Show again: ${text}`);
  show.addEventListener("click", () => change("DELETE", path, `${text} is shown again.`));
  item.append(name, show);
  return item;
}

export async function drawHidden() {
  const list = $("#hidden-list");
  try {
    const hidden = await request("GET", "/api/me/hidden");
    list.replaceChildren(
      ...hidden.categories.map((c) => row(`${c.name} (category)`, `categories/${encodeURIComponent(c.slug)}`)),
      ...hidden.feeds.map((f) => row(f.title, `feeds/${f.id}`)),
    );
    await drawChoices();
  } catch (error) {
    list.textContent = `Could not list hidden feeds: ${error.detail || error}`;
  }
}

async function change(method, path, said) {
  try {
    await request(method, `/api/me/hidden/${path}`);
  } catch (error) {
    hooks.showMessage(`Could not change hidden feeds: ${error.detail || error}`);
    return;
  }
  await hooks.reloadCategories();
  await hooks.reload();
  hooks.refreshCounts();
  hooks.restartStream(); // the stream reads the hidden feeds when it opens
  await drawHidden();
  hooks.announce(said);
}

export function setUpHidden(pageHooks) {
  hooks = pageHooks;
  $("#hide-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const choice = $("#hide-choice");
    const value = choice.value;
    if (!value) return;
    const [kind, key] = value.split(/:(.*)/s);
    const text = choice.selectedOptions[0]?.textContent || key;
    const path = kind === "feed" ? `feeds/${key}` : `categories/${encodeURIComponent(key)}`;
    change("PUT", path, `${text} is hidden.`);
  });
}
