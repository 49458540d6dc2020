// The reader page: wires the category toggles, the article list and the live stream.

import { getArticles, getCategories, streamUrl } from "./api.js";
import { ArticleList } from "./articles.js";
import { CategoryPicker, readChoice, saveChoice } from "./categories.js";
import { Notifier } from "./notify.js";
import { StatusBadge } from "./status.js";
import { LiveStream } from "./stream.js";
import { refreshTimes } from "./time.js";
import { UnreadCounter } from "./unread.js";

const PAGE = 50;

const $ = (selector) => document.querySelector(selector);
const status = new StatusBadge($("#status"), $("#announce"));
const picker = new CategoryPicker($("#categories"), { onChange: chooseCategories });
const articles = new ArticleList($("#articles"), { categoryName: (slug) => picker.name(slug) });
const notifier = new Notifier($("#notify"));
const unread = new UnreadCounter();
const loadMoreButton = $("#load-more");
const message = $("#list-message");

let chosen = [];
let query = "";
let stream = null;
let loading = null; // AbortController of the list request in flight
let stale = false; // categories or list failed to load: retry when the stream is live

function showMessage(text) {
  message.textContent = text;
  message.hidden = !text;
}

async function fetchPage(params) {
  try {
    return await getArticles({ categories: chosen, limit: PAGE, q: query || undefined, ...params });
  } catch (error) {
    // A server without search answers 4xx to `q`: show the plain list instead.
    if (query && error.status >= 400 && error.status < 500) {
      return getArticles({ categories: chosen, limit: PAGE, ...params });
    }
    throw error;
  }
}

async function loadList() {
  loading?.abort();
  const controller = new AbortController();
  loading = controller;
  const list = $("#articles");
  list.setAttribute("aria-busy", "true");
  try {
    const page = await fetchPage({ signal: controller.signal });
    if (loading !== controller) return;
    articles.clear();
    articles.append(page, "list");
    loadMoreButton.hidden = page.length < PAGE;
    stale = false;
    // Articles streamed in while this page was being fetched were cleared with the old list.
    if (stream && !stream.stopped && stream.state === "live") catchUp(articles.maxId).catch(() => {});
    const empty = query ? "No articles match this search." : "No articles yet. New ones appear here as soon as they are fetched.";
    showMessage(page.length ? "" : empty);
  } catch (error) {
    if (error.name === "AbortError") return;
    stale = true;
    showMessage(`Could not load articles: ${error.message}`);
  } finally {
    if (loading === controller) {
      loading = null;
      list.setAttribute("aria-busy", "false");
    }
  }
}

async function loadMore() {
  loadMoreButton.disabled = true;
  try {
    const page = await fetchPage({ before: articles.minId });
    articles.append(page, "list");
    loadMoreButton.hidden = page.length < PAGE;
  } catch (error) {
    showMessage(`Could not load more articles: ${error.message}`);
  } finally {
    loadMoreButton.disabled = false;
  }
}

function accept(article) {
  if (query) return false; // search results are not mixed with live arrivals
  if (chosen.length && !chosen.includes(article.category)) return false;
  return true;
}

function showNew(article, source) {
  if (!accept(article) || !articles.insert(article, { source })) return;
  showMessage("");
  unread.add(1);
  status.announceNew(1);
  notifier.show(article);
}

// Articles after `fromId`, oldest first, page by page (the stream's catch-up and polling).
async function catchUp(fromId) {
  let after = fromId;
  for (let pages = 0; pages < 20; pages += 1) {
    const page = await getArticles({ categories: chosen, after, limit: PAGE });
    for (const article of page) showNew(article, "catchup");
    if (page.length < PAGE) return;
    after = page[page.length - 1].id;
  }
  await loadList(); // far behind: start afresh
}

function startStream() {
  stream?.stop();
  stream = new LiveStream({
    url: streamUrl(chosen),
    cursor: () => articles.maxId,
    catchUp,
    onArticle: (article) => showNew(article, "stream"),
    onReset: () => loadList(),
    onState: (state) => {
      status.set(state);
      if (state === "live" && stale) recover();
      if (state === "offline" && navigator.onLine !== false) dropVanishedCategories();
    },
  });
  status.set("connecting");
  stream.start();
}

// The page was opened while the server was unreachable: fill it in once it answers.
async function recover() {
  stale = false;
  if (!picker.names.size) await loadCategories();
  await loadList();
}

// The stream answers 404 for a category deleted since the page loaded: forget it.
async function dropVanishedCategories() {
  if (!chosen.length) return;
  try {
    const categories = await getCategories();
    const kept = picker.render(categories, chosen);
    if (kept.length !== chosen.length) await chooseCategories(kept);
  } catch {
    // The server is really down: the stream keeps retrying.
  }
}

async function loadCategories() {
  try {
    const categories = await getCategories();
    chosen = picker.render(categories, chosen);
    saveChoice(chosen);
  } catch (error) {
    stale = true;
    showMessage(`Could not load categories: ${error.message}`);
  }
}

async function chooseCategories(slugs) {
  chosen = slugs;
  saveChoice(chosen);
  stream?.stop();
  status.set("connecting");
  await loadList();
  startStream();
}

function setUpSearch() {
  const form = $("#search-form");
  const input = $("#search");
  let timer = null;
  const run = () => {
    const value = input.value.trim();
    if (value === query) return;
    query = value;
    loadList();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run();
  });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 400);
  });
}

async function main() {
  setUpSearch();
  loadMoreButton.addEventListener("click", loadMore);
  setInterval(() => refreshTimes($("#articles")), 30_000);
  chosen = readChoice();
  saveChoice(chosen);
  await loadCategories();
  const categoriesFailed = stale;
  await loadList();
  stale ||= categoriesFailed;
  startStream();
}

main();
