// The reader page: categories, the article list in publication order, the live stream, the
// reading view and the keyboard. Wiring only; each piece lives in its own module.

import { startAccount } from "./account.js";
import { getArticles, getCategories, getFeeds, listArticles, streamUrl } from "./api.js";
import { ArticleList } from "./articles.js";
import { CategoryPicker, readChoice, saveChoice } from "./categories.js";
import { setUpCommands } from "./commands.js";
import { FeedPicker, readFeedChoice, saveFeedChoice } from "./feeds.js";
import { LocalMarks } from "./marks.js";
import { Marking } from "./marking.js";
import { Notifier } from "./notify.js";
import { setFeedCategories } from "./outfeeds.js";
import { ReadingView, articleIdInHash } from "./reading.js";
import { ScrollMarker } from "./scrolling.js";
import { Selection } from "./selection.js";
import { StatusBadge } from "./status.js";
import { resetViews, setUpToolbar } from "./toolbar.js";
import { LiveStream } from "./stream.js";
import { refreshTimes } from "./time.js";
import { UnreadCounter } from "./unread.js";

const PAGE = 50;

const $ = (selector) => document.querySelector(selector);
const status = new StatusBadge($("#status"), $("#announce"));
const picker = new CategoryPicker($("#categories"), { onChange: chooseCategories });
const feedPicker = new FeedPicker($("#feeds"), { onChange: chooseFeed });
const page = {
  state: new LocalMarks(), // replaced by the server's state once signed in (account.js)
  view: "all", // all | unread | starred (signed in)
};
const articles = new ArticleList($("#articles"), {
  categoryName: (slug) => picker.name(slug),
  decorate: (item, article) => marking.decorate(item, article.id),
});
const selection = new Selection($("#articles"));
const notifier = new Notifier($("#notify"));
const unread = new UnreadCounter();
const loadMoreButton = $("#load-more");
const message = $("#list-message");
const reading = new ReadingView($("#reading"), $("#list-view"), {
  neighbours,
  categoryName: (slug) => picker.name(slug),
  onShown: (article) => {
    const item = articles.item(article.id);
    if (item) selection.select(item, { focus: false });
    marking.setRead([article.id], true, { quiet: true }); // mark read on open
    marking.drawReading();
  },
  onClosed: (id) => {
    document.title = unread.base;
    const item = id === null ? null : articles.item(id);
    if (item) selection.select(item);
  },
});
const marking = new Marking({
  page,
  articles,
  reading,
  say: (text) => status.say(text),
  showMessage,
});
new ScrollMarker($("#articles"), $("#scroll-read"), (ids) =>
  marking.setRead(ids, true, { quiet: true }),
);

let chosen = [];
let feed = null; // one feed's view (?feed=ID), or null
let allFeeds = [];
let query = "";
let nextCursor = null;
let stream = null;
let loading = null; // AbortController of the list request in flight
let stale = false; // categories or list failed to load: retry when the stream is live

function showMessage(text) {
  message.textContent = text;
  message.hidden = !text;
}

// The id `delta` places away from `id` in the list, or null.
function neighbours(id, delta) {
  const items = articles.items();
  const index = items.findIndex((item) => Number(item.dataset.id) === id);
  if (index === -1) return null;
  const next = items[index + delta];
  return next ? Number(next.dataset.id) : null;
}

// A page of the current list. Search is ranked; everything else is publication order.
async function fetchPage(cursor, signal) {
  if (query) {
    try {
      const found = await getArticles({ categories: chosen, feed, limit: PAGE, q: query, signal });
      return { articles: found, next: null };
    } catch (error) {
      // A server without search answers 4xx to `q`: show the plain list instead.
      if (!(error.status >= 400 && error.status < 500)) throw error;
    }
  }
  if (page.state.signedIn && page.view !== "all") {
    return page.state.listArticles({ view: page.view, categories: chosen, feed, cursor, limit: PAGE, signal });
  }
  return listArticles({ categories: chosen, feed, cursor, limit: PAGE, signal });
}

async function loadList() {
  loading?.abort();
  const controller = new AbortController();
  loading = controller;
  const list = $("#articles");
  list.setAttribute("aria-busy", "true");
  try {
    const result = await fetchPage(undefined, controller.signal);
    if (loading !== controller) return;
    await page.state.load?.(result.articles.map((a) => a.id));
    if (loading !== controller) return; // a newer list was asked for while the marks came
    const hadFocus = list.contains(document.activeElement);
    articles.clear();
    articles.append(result.articles, "list");
    // The current article keeps its place, and a keyboard reader's focus moves to its new
    // card instead of falling back to the page.
    const current = selection.item;
    if (current) selection.select(current, { focus: hadFocus });
    nextCursor = result.next;
    loadMoreButton.hidden = !nextCursor;
    stale = false;
    // Articles streamed in while this page was being fetched were cleared with the old list.
    if (stream && !stream.stopped && stream.state === "live") catchUp(articles.maxId).catch(() => {});
    showMessage(result.articles.length ? "" : emptyText());
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

function emptyText() {
  if (query) return "No articles match this search.";
  if (page.view === "unread") return "Nothing unread here.";
  if (page.view === "starred") return "No starred articles yet: press s or ☆ on an article to star it.";
  return "No articles yet. New ones appear here as soon as they are fetched.";
}

async function loadMore() {
  if (articles.trimmed || !nextCursor) return loadList(); // trimmed: the cursor no longer fits
  loadMoreButton.disabled = true;
  try {
    const result = await fetchPage(nextCursor);
    await page.state.load?.(result.articles.map((a) => a.id));
    articles.append(result.articles, "list");
    nextCursor = result.next;
    loadMoreButton.hidden = !nextCursor;
  } catch (error) {
    showMessage(`Could not load more articles: ${error.message}`);
  } finally {
    loadMoreButton.disabled = false;
  }
}

function accept(article) {
  if (query) return false; // search results are not mixed with live arrivals
  if (page.view === "starred") return false; // a new article is not starred yet
  // The Unread view's catch-up brings every article after the newest unread one shown:
  // the ones already read stay out.
  if (page.view === "unread" && page.state.isRead(article.id)) return false;
  if (chosen.length && !chosen.includes(article.category)) return false;
  if (feed !== null && article.feed_id !== feed) return false;
  return true;
}

function showNew(article, source) {
  if (!accept(article) || !articles.insert(article, { source })) return;
  showMessage("");
  unread.add(1);
  status.announceNew(1);
  notifier.show(article);
  page.state.arrived?.(article);
}

// Articles after `fromId`, oldest first, page by page (the stream's catch-up and polling).
async function catchUp(fromId) {
  let after = fromId;
  for (let pages = 0; pages < 20; pages += 1) {
    const batch = await getArticles({ categories: chosen, feed, after, limit: PAGE });
    if (page.view === "unread") await page.state.load?.(batch.map((a) => a.id));
    for (const article of batch) showNew(article, "catchup");
    if (batch.length < PAGE) return;
    after = batch[batch.length - 1].id;
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
    onStateEvent: (change) => page.state.applyEvent?.(change),
    onState: (state) => {
      status.set(state);
      if (state === "live" && stale) recover();
      if (state === "live" && page.state.signedIn) refreshMarks();
      if (state === "offline" && navigator.onLine !== false) dropVanishedCategories();
    },
  });
  status.set("connecting");
  stream.start();
}

// Back live after a break: state events are not replayed, so ask for the marks and counts.
async function refreshMarks() {
  page.state.refreshCounts();
  try {
    await page.state.load(articles.items().map((item) => Number(item.dataset.id)));
    marking.redraw();
  } catch {
    // The next change or reconnect tries again.
  }
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
    setFeedCategories(categories);
    categoryNames = new Map(categories.map((c) => [c.slug, c.name]));
    saveChoice(chosen);
    allFeeds = await getFeeds();
    drawFeeds();
    describeSearch();
    page.state.drawCounts?.();
  } catch (error) {
    stale = true;
    showMessage(`Could not load categories: ${error.message}`);
  }
}

// The feed view lists the chosen categories' feeds; a chosen feed outside them is let go.
function drawFeeds() {
  feed = feedPicker.render(allFeeds, chosen, feed);
  saveFeedChoice(feed);
}

async function chooseFeed(feedId) {
  feed = feedId;
  saveFeedChoice(feed);
  describeSearch();
  await loadList();
}

async function chooseCategories(slugs) {
  chosen = slugs;
  saveChoice(chosen);
  drawFeeds();
  describeSearch();
  stream?.stop();
  status.set("connecting");
  await loadList();
  startStream();
}

// Search looks in the chosen categories only: the box says so.
let categoryNames = new Map();
function describeSearch() {
  const names = chosen.map((slug) => categoryNames.get(slug) || slug);
  const feedTitle = feed === null ? null : feedPicker.title(feed);
  const where = feedTitle ? `in ${feedTitle}` : names.length ? `in ${names.join(", ")}` : "in all categories";
  $("#search").placeholder = `Search ${where}`;
  $("#search").title =
    `Searches articles ${where}: every word (or its stem) must match; ` +
    `"a phrase", -word to exclude, a OR b`;
}

// The query lives in the URL (?q=) beside the categories: a search can be reloaded,
// bookmarked and shared.
function keepQueryInUrl() {
  const url = new URL(location.href);
  if (query) url.searchParams.set("q", query);
  else url.searchParams.delete("q");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}

function setUpSearch() {
  const form = $("#search-form");
  const input = $("#search");
  let timer = null;
  input.value = new URLSearchParams(location.search).get("q") || "";
  query = input.value.trim();
  describeSearch();
  const run = () => {
    const value = input.value.trim();
    if (value === query) return;
    query = value;
    keepQueryInUrl();
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

// What account.js and toolbar.js may do to the page.
const hooks = {
  setState(state) {
    page.state = state;
    if (!state.signedIn && page.view !== "all") {
      page.view = "all";
      resetViews();
    }
    marking.redraw();
  },
  state: () => page.state,
  view: () => page.view,
  setView(view) {
    page.view = view;
    loadList();
  },
  drawCounts(counts) {
    picker.setCounts(counts);
    feedPicker.setCounts(counts);
    const total = $("#unread-total");
    total.textContent = counts?.total ? String(counts.total) : "";
  },
  items: () => articles.items(),
  redrawStates: () => marking.redraw(),
  reload: () => loadList(),
  reloadCategories: () => loadCategories(),
  refreshCounts: () => page.state.refreshCounts?.(),
  restartStream: () => startStream(),
  newestShownId: () => articles.maxId,
  chosen: () => chosen,
  feed: () => feed,
  announce: (text) => status.say(text),
  showMessage,
};

async function main() {
  setUpSearch();
  setUpToolbar(hooks);
  setUpCommands({
    articles,
    selection,
    reading,
    isRead: (id) => page.state.isRead(id),
    setRead: (ids, read) => marking.setRead(ids, read),
    toggleStar: (id) => marking.toggleStar(id),
    refresh: () => {
      loadList();
      page.state.refreshCounts?.();
    },
  });
  loadMoreButton.addEventListener("click", loadMore);
  setInterval(() => refreshTimes($("#articles")), 30_000);
  chosen = readChoice();
  saveChoice(chosen);
  feed = readFeedChoice();
  await startAccount(hooks);
  await loadCategories();
  const categoriesFailed = stale;
  await loadList();
  stale ||= categoriesFailed;
  startStream();
  const linked = articleIdInHash();
  if (linked !== null) reading.open(linked, { push: false });
}

main();
