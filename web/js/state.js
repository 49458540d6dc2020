// A signed-in reader's read and starred state, kept on the server (docs/readers-api.md):
// marks for the articles on the page, unread counts for the chips, changes from other
// devices through the stream's `event: state`.

import { request, requestWithHeaders } from "./api.js";

const ANNOTATE_BATCH = 200; // GET /api/me/state: at most 500 ids in 4000 characters

export class ServerState {
  // onChange(): cards and counts need redrawing; onCounts(counts): new unread counts;
  // onSignedOut(): the session ended (revoked elsewhere, or expired).
  constructor({ onChange, onCounts, onSignedOut }) {
    Object.assign(this, { onChange, onCounts, onSignedOut });
    this.signedIn = true;
    this.read = new Set();
    this.starred = new Set();
    this.counts = { total: 0, categories: {}, feeds: {} };
    this.countTimer = null;
    // Local changes, numbered: a snapshot of marks asked for before an article's latest
    // change is older than what the page shows, and must not undo it (a star clicked while
    // the marks of the list were on their way flipped back when they arrived). A change is
    // numbered again once the server has it: a snapshot asked for while it was on its way
    // may have been read before it.
    this.changes = 0;
    this.changedAt = new Map();
  }

  // Changed here after a snapshot numbered `asked` was asked for (or while it was).
  #changedSince(id, asked) {
    return (this.changedAt.get(id) ?? 0) > asked;
  }

  #touch(ids) {
    this.changes += 1;
    for (const id of ids) this.changedAt.set(id, this.changes);
  }

  isRead(id) {
    return this.read.has(id);
  }

  isStarred(id) {
    return this.starred.has(id);
  }

  async #call(method, path, options) {
    try {
      return await request(method, path, options);
    } catch (error) {
      if (error.status === 401) this.onSignedOut();
      throw error;
    }
  }

  // Fetches the marks of articles about to be shown.
  async load(ids) {
    for (let start = 0; start < ids.length; start += ANNOTATE_BATCH) {
      const chunk = ids.slice(start, start + ANNOTATE_BATCH);
      const asked = this.changes;
      const marks = await this.#call("GET", "/api/me/state", { params: { ids: chunk.join(",") } });
      this.#apply(chunk.filter((id) => !this.#changedSince(id, asked)), marks);
    }
  }

  #apply(ids, marks) {
    const read = new Set(marks.read || []);
    const starred = new Set(marks.starred || []);
    for (const id of ids) {
      if (read.has(id)) this.read.add(id);
      else this.read.delete(id);
      if (starred.has(id)) this.starred.add(id);
      else this.starred.delete(id);
    }
  }

  async setRead(ids, read) {
    this.#touch(ids);
    await this.#call("POST", "/api/me/state", { body: read ? { read: ids } : { unread: ids } });
    this.#touch(ids);
    for (const id of ids) {
      if (read) this.read.add(id);
      else this.read.delete(id);
    }
    this.refreshCounts();
  }

  async setStarred(id, starred) {
    this.#touch([id]);
    await this.#call("POST", "/api/me/state", { body: starred ? { starred: [id] } : { unstarred: [id] } });
    this.#touch([id]);
    if (starred) this.starred.add(id);
    else this.starred.delete(id);
  }

  // Marks everything in scope read up to the newest id the page has shown: an article that
  // arrives meanwhile stays unread (the server applies the bound).
  async markAllRead({ categories, feed = null, uptoId }) {
    const scopes = feed !== null ? [{ feed_id: feed }] : categories.length ? categories.map((category) => ({ category })) : [{}];
    for (const scope of scopes) {
      await this.#call("POST", "/api/me/mark-all-read", { body: { ...scope, upto_id: uptoId } });
    }
    this.refreshCounts();
  }

  // Marks read, locally, the given shown articles that a mark-all (here or elsewhere) covered.
  markCovered(items, { category = null, feed_id: feedId = null, upto_id: uptoId }) {
    for (const item of items) {
      const id = Number(item.dataset.id);
      if (id > uptoId) continue;
      if (category && item.dataset.category !== category) continue;
      if (feedId && Number(item.dataset.feed) !== feedId) continue;
      this.read.add(id);
    }
  }

  // A new article arrived: unread until marked; counts follow shortly.
  arrived() {
    this.refreshCounts();
  }

  // `event: state` from the stream: a change made on another device or tab.
  applyEvent(change) {
    this.#touch([...(change.read || []), ...(change.unread || []), ...(change.starred || []), ...(change.unstarred || [])]);
    for (const id of change.read || []) this.read.add(id);
    for (const id of change.unread || []) this.read.delete(id);
    for (const id of change.starred || []) this.starred.add(id);
    for (const id of change.unstarred || []) this.starred.delete(id);
    this.onChange(change);
    this.refreshCounts();
  }

  // Unread counts, fetched at most every 300 ms however many changes arrive.
  refreshCounts() {
    if (this.countTimer !== null) return;
    this.countTimer = setTimeout(async () => {
      this.countTimer = null;
      try {
        this.counts = await this.#call("GET", "/api/me/unread");
        this.onCounts(this.counts);
      } catch {
        // Counts are a convenience; the next change tries again.
      }
    }, 300);
  }

  // A filtered list (unread, starred) in publication order, paged by the server's cursor.
  async listArticles({ view, categories, feed, cursor, limit, signal }) {
    const asked = this.changes;
    const { body, headers } = await requestWithHeaders("GET", "/api/me/articles", {
      params: { state: view, category: categories, feed_id: feed, order: "published", cursor, limit },
      signal,
    });
    for (const article of body) {
      if (this.#changedSince(article.id, asked)) continue; // the page's mark is newer
      if (article.read) this.read.add(article.id);
      else this.read.delete(article.id);
      if (article.starred) this.starred.add(article.id);
      else this.starred.delete(article.id);
    }
    return { articles: body, next: headers.get("X-Next-Cursor") };
  }
}
