// One article card. Everything from a feed is inserted as text, except the summary, which
// the server has already sanitized (nh3) and is parsed inertly and checked once more here.

import { feedIcon } from "./feeds.js";
import { setTime } from "./time.js";
import { inertFragment } from "./inert.js";
import { safeHttpUrl } from "./urls.js";

// Media would load, shift the layout and defeat the line clamp: summaries are text + links.
const DROP = "script, style, iframe, object, embed, img, picture, video, audio, source, svg, math, form, input, button, link, meta";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Summaries are text and links only.
export function summaryFragment(html) {
  return inertFragment(html, { drop: DROP });
}

// The time a list sorts by: publication, clamped to arrival by the server.
export function listedTime(article) {
  const time = Date.parse(article.listed_at || article.published_at || article.fetched_at);
  return Number.isNaN(time) ? 0 : time;
}

export function renderArticle(article, { categoryName = (slug) => slug } = {}) {
  const item = el("li", "article");
  item.dataset.id = String(article.id);
  item.dataset.category = article.category || "";
  item.dataset.feed = String(article.feed_id);
  item.dataset.listed = String(listedTime(article));

  // Focusable by script (j/k), not a tab stop: the screen reader reads its heading.
  const card = el("article", "card");
  card.tabIndex = -1;
  const headingId = `article-${article.id}`;
  card.setAttribute("aria-labelledby", headingId);

  const heading = el("h2", "article-title");
  heading.id = headingId;
  const title = (article.title || "").trim() || "(untitled)";
  const href = safeHttpUrl(article.url);
  if (href) {
    const link = el("a", null, title);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    heading.append(link);
  } else {
    heading.textContent = title;
  }

  const meta = el("p", "article-meta");
  meta.append(feedIcon(article.feed_id), el("span", "feed", article.feed_title || "Unknown feed"));
  if (article.category) meta.append(el("span", "category", categoryName(article.category)));
  const time = el("time", "when");
  setTime(time, article.listed_at || article.published_at || article.fetched_at);
  meta.append(time);
  if (article.author) meta.append(el("span", "author", article.author));

  card.append(heading, meta);
  if (article.summary) {
    const summary = el("div", "summary");
    summary.append(summaryFragment(article.summary));
    if (summary.textContent.trim()) card.append(summary);
  }

  const actions = el("div", "card-actions");
  const read = el("button", "button button-quiet read-button", "Read");
  read.type = "button";
  read.dataset.action = "open";
  read.setAttribute("aria-label", `Read “${title}” here`);
  const star = el("button", "button button-quiet star-button", "☆");
  star.type = "button";
  star.dataset.action = "star";
  star.setAttribute("aria-pressed", "false");
  star.setAttribute("aria-label", `Star “${title}”`);
  star.hidden = true; // shown once signed in
  const mark = el("button", "button button-quiet mark-button", "Mark read");
  mark.type = "button";
  mark.dataset.action = "mark";
  actions.append(read, mark, star);
  card.append(actions);
  item.append(card);
  return item;
}

// Read and starred marks on a card (local marks when anonymous, the server's once signed in).
export function showState(item, { read = false, starred = false, canStar = false } = {}) {
  item.classList.toggle("is-read", read);
  item.classList.toggle("is-starred", starred);
  const title = item.querySelector(".article-title")?.textContent ?? "";
  const mark = item.querySelector(".mark-button");
  if (mark) {
    mark.textContent = read ? "Mark unread" : "Mark read";
    mark.setAttribute("aria-label", `${read ? "Mark unread" : "Mark read"}: “${title}”`);
  }
  const star = item.querySelector(".star-button");
  if (star) {
    star.hidden = !canStar;
    star.textContent = starred ? "★" : "☆";
    star.setAttribute("aria-pressed", String(starred));
    star.setAttribute("aria-label", `Star “${title}”`);
  }
}
