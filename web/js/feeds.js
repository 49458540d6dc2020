// The feed view: the feeds of the chosen categories, each with its site icon (served by
// feedhub) and, signed in, its unread count; choosing one shows only its articles. The
// choice lives in the URL (?feed=ID), so a reload or a shared link keeps it.

export function iconUrl(feedId) {
  return `/icons/feeds/${encodeURIComponent(feedId)}`;
}

// A site icon for a feed: decorative (the feed's name is next to it), lazy, never focusable.
export function feedIcon(feedId) {
  const img = document.createElement("img");
  img.className = "feed-icon";
  img.src = iconUrl(feedId);
  img.alt = "";
  img.width = 16;
  img.height = 16;
  img.loading = "lazy";
  img.decoding = "async";
  return img;
}

export function readFeedChoice() {
  const raw = new URLSearchParams(location.search).get("feed");
  const id = Number(raw);
  return raw && Number.isSafeInteger(id) && id > 0 ? id : null;
}

export function saveFeedChoice(feedId) {
  const url = new URL(location.href);
  if (feedId === null) url.searchParams.delete("feed");
  else url.searchParams.set("feed", String(feedId));
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}

export class FeedPicker {
  // container: the <details> of the feed view; onChange(feedId or null) after a choice.
  constructor(container, { onChange }) {
    this.container = container;
    this.list = container.querySelector("ul");
    this.summary = container.querySelector(".feeds-chosen");
    this.onChange = onChange;
    this.feeds = [];
    this.counts = null;
    this.chosen = null;
  }

  title(feedId) {
    return this.feeds.find((f) => f.id === feedId)?.title ?? null;
  }

  // Draws the feeds of `categories` (all when empty); returns the chosen feed if it is
  // still listed, else null.
  render(feeds, categories, chosen) {
    this.feeds = feeds;
    const shown = categories.length ? feeds.filter((f) => categories.includes(f.category)) : feeds;
    this.chosen = shown.some((f) => f.id === chosen) ? chosen : null;
    const all = this.#button(null, "All feeds");
    const items = [all, ...shown.map((feed) => this.#button(feed.id, feed.title))];
    this.list.replaceChildren(...items);
    if (this.chosen !== null) this.container.open = true;
    this.#sync();
    this.setCounts(this.counts);
    return this.chosen;
  }

  // Unread counts per feed (signed in: `/api/me/unread`'s `feeds`); null removes them.
  setCounts(counts) {
    this.counts = counts;
    for (const button of this.list.querySelectorAll("button[data-feed]")) {
      const n = counts ? counts.feeds?.[button.dataset.feed] ?? 0 : 0;
      const badge = button.querySelector(".feed-count");
      if (!counts || n === 0) {
        badge.hidden = true;
        badge.replaceChildren();
        continue;
      }
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " unread";
      badge.replaceChildren(n > 999 ? "999+" : String(n), hidden);
      badge.hidden = false;
    }
  }

  #button(feedId, title) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "feed-button";
    if (feedId !== null) {
      button.dataset.feed = String(feedId);
      button.append(feedIcon(feedId));
    }
    const name = document.createElement("span");
    name.className = "feed-name";
    name.textContent = title;
    const count = document.createElement("span");
    count.className = "feed-count";
    count.hidden = true;
    button.append(name, count);
    button.addEventListener("click", () => {
      this.chosen = feedId;
      this.#sync();
      this.onChange(feedId);
    });
    item.append(button);
    return item;
  }

  #sync() {
    for (const button of this.list.querySelectorAll("button")) {
      const id = button.dataset.feed ? Number(button.dataset.feed) : null;
      button.setAttribute("aria-pressed", String(id === this.chosen));
    }
    const title = this.chosen === null ? null : this.title(this.chosen);
    this.summary.textContent = title ? `: ${title}` : "";
  }
}
