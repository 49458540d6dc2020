// The reading view: one article's sanitized content, author, date and source,
// its enclosures as players, previous/next and the original. It replaces the list on the
// page (the list keeps its place) and is reachable as #article/<id>, so Back closes it.

import { getArticle } from "./api.js";
import { contentFragment } from "./content.js";
import { renderEnclosure } from "./media.js";
import { setTime } from "./time.js";
import { safeHttpUrl } from "./urls.js";

const HASH = /^#article\/(\d+)$/;

export function articleIdInHash() {
  const match = HASH.exec(location.hash);
  return match ? Number(match[1]) : null;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class ReadingView {
  // root: the #reading section; listView: what it replaces; neighbours(id, delta) -> id or
  // null; onShown(article) once an article is on screen; onClosed(id) when back to the list.
  constructor(root, listView, { neighbours, onShown, onClosed, categoryName }) {
    Object.assign(this, { root, listView, neighbours, onShown, onClosed, categoryName });
    this.article = null;
    this.loading = null;
    this.$ = (selector) => root.querySelector(selector);
    this.$("#reading-back").addEventListener("click", () => this.close());
    this.$("#reading-previous").addEventListener("click", () => this.step(-1));
    this.$("#reading-next").addEventListener("click", () => this.step(1));
    window.addEventListener("popstate", () => this.#followHash());
  }

  get isOpen() {
    return !this.root.hidden;
  }

  get id() {
    return this.article?.id ?? null;
  }

  // Opens an article; `push` adds a history entry (false when following the URL).
  async open(id, { push = true } = {}) {
    this.loading?.abort();
    const controller = new AbortController();
    this.loading = controller;
    this.root.setAttribute("aria-busy", "true");
    this.#show();
    if (push && articleIdInHash() !== id) {
      const replace = this.isOpen && articleIdInHash() !== null;
      history[replace ? "replaceState" : "pushState"]({ article: id }, "", `#article/${id}`);
    }
    try {
      const article = await getArticle(id, { signal: controller.signal });
      if (this.loading !== controller) return;
      this.#render(article);
      this.onShown?.(article);
    } catch (error) {
      if (error.name === "AbortError") return;
      this.article = { id };
      this.#renderError(error.status === 404 ? "This article no longer exists." : `Could not load the article: ${error.message}`);
    } finally {
      if (this.loading === controller) {
        this.loading = null;
        this.root.setAttribute("aria-busy", "false");
      }
    }
  }

  step(delta) {
    if (!this.article) return false;
    const id = this.neighbours(this.article.id, delta);
    if (id === null) {
      this.#say(delta > 0 ? "This is the last article loaded." : "This is the first article.");
      return false;
    }
    this.open(id);
    return true;
  }

  close({ fromHistory = false } = {}) {
    if (!this.isOpen) return false;
    const id = this.article?.id ?? null;
    this.loading?.abort();
    this.root.hidden = true;
    this.listView.hidden = false;
    document.body.classList.remove("is-reading");
    if (!fromHistory && articleIdInHash() !== null) {
      if (history.state?.article) history.back();
      else history.replaceState(null, "", location.pathname + location.search);
    }
    this.article = null;
    this.onClosed?.(id);
    return true;
  }

  originalUrl() {
    return safeHttpUrl(this.article?.url);
  }

  #followHash() {
    const id = articleIdInHash();
    if (id === null) this.close({ fromHistory: true });
    else if (id !== this.id) this.open(id, { push: false });
  }

  #show() {
    if (this.isOpen) return;
    this.listView.hidden = true;
    this.root.hidden = false;
    document.body.classList.add("is-reading");
  }

  #say(text) {
    this.$("#reading-status").textContent = text;
  }

  #render(article) {
    this.article = article;
    const title = (article.title || "").trim() || "(untitled)";
    document.title = `${title} · feedhub`;
    const heading = this.$("#reading-title");
    heading.textContent = title;

    const meta = this.$("#reading-meta");
    const source = safeHttpUrl(article.site_url);
    const feed = el(source ? "a" : "span", "feed", article.feed_title || "Unknown feed");
    if (source) {
      feed.href = source;
      feed.target = "_blank";
      feed.rel = "noopener noreferrer";
    }
    const parts = [feed];
    if (article.category) parts.push(el("span", "category", this.categoryName(article.category)));
    if (article.author) parts.push(el("span", "author", `by ${article.author}`));
    const time = el("time", "when");
    setTime(time, article.published_at || article.listed_at);
    parts.push(time);
    meta.replaceChildren(...parts);

    const original = this.$("#reading-original");
    const href = safeHttpUrl(article.url);
    original.hidden = !href;
    if (href) original.href = href;

    const media = (article.enclosures || []).map(renderEnclosure).filter(Boolean);
    const mediaBox = this.$("#reading-media");
    mediaBox.replaceChildren(...media);
    mediaBox.hidden = media.length === 0;

    const body = this.$("#reading-content");
    body.replaceChildren(contentFragment(article.content || article.summary || ""));
    if (!body.textContent.trim() && !body.querySelector("img")) {
      body.replaceChildren(el("p", "muted", "This article has no text in its feed. Open the original to read it."));
    }
    this.$("#reading-previous").disabled = this.neighbours(article.id, -1) === null;
    this.$("#reading-next").disabled = this.neighbours(article.id, 1) === null;
    this.#say("");
    window.scrollTo({ top: 0 });
    // The heading takes focus: a screen reader reads the new title, and Tab goes on from it.
    heading.focus();
  }

  #renderError(text) {
    this.$("#reading-title").textContent = "Article unavailable";
    this.$("#reading-meta").replaceChildren();
    this.$("#reading-media").replaceChildren();
    this.$("#reading-original").hidden = true;
    this.$("#reading-content").replaceChildren(el("p", "list-message", text));
    this.$("#reading-title").focus();
  }
}
