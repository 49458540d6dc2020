// Which feeds the admin list shows: search text, category, state, and one page of them.
// Pure functions (no DOM), so a list of thousands is filtered in memory at every keystroke.

export const PAGE_SIZE = 50;

// never polled / ok / failing / paused: the same words as the Status column.
export function stateOf(feed) {
  if (!feed.enabled) return "paused";
  if (feed.error_count > 0) return "failing";
  if (!feed.last_polled_at) return "never";
  return "ok";
}

function haystack(feed, categoryName) {
  return [feed.title, feed.url, feed.site_url, categoryName(feed.category), feed.last_error]
    .filter(Boolean)
    .join("\n")
    .toLowerCase();
}

export function filterFeeds(feeds, { text = "", category = "", state = "" }, categoryName) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return feeds.filter(
    (feed) =>
      (!category || feed.category === category) &&
      (!state || stateOf(feed) === state) &&
      (words.length === 0 || words.every((word) => haystack(feed, categoryName).includes(word))),
  );
}

// The page `page` (from 1) of `list`, clamped to the pages there are.
export function pageOf(list, page, size = PAGE_SIZE) {
  const pages = Math.max(1, Math.ceil(list.length / size));
  const current = Math.min(Math.max(1, page), pages);
  const start = (current - 1) * size;
  return { rows: list.slice(start, start + size), page: current, pages, start, total: list.length };
}
