// One article card. Everything from a feed is inserted as text, except the summary, which
// the server has already sanitized (nh3) and is parsed inertly and checked once more here.

import { setTime } from "./time.js";

// Media would load, shift the layout and defeat the line clamp: summaries are text + links.
const DROP = "script, style, iframe, object, embed, img, picture, video, audio, source, svg, math, form, input, button, link, meta";

function safeHttpUrl(raw) {
  if (!raw) return null;
  try {
    const url = new URL(raw, location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A <template> parses without running scripts or loading images.
export function summaryFragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html || "";
  const content = template.content;
  for (const node of content.querySelectorAll(DROP)) node.remove();
  for (const node of content.querySelectorAll("*")) {
    for (const attr of [...node.attributes]) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || name === "style" || name === "srcdoc") node.removeAttribute(attr.name);
    }
    if (node.tagName === "A") {
      const href = safeHttpUrl(node.getAttribute("href"));
      if (href) node.setAttribute("href", href);
      else node.removeAttribute("href");
      node.target = "_blank";
      node.rel = "noopener noreferrer";
    }
  }
  return content;
}

export function renderArticle(article, { categoryName = (slug) => slug } = {}) {
  const item = el("li", "article");
  item.dataset.id = String(article.id);
  item.dataset.category = article.category || "";

  const card = el("article", "card");
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
  meta.append(el("span", "feed", article.feed_title || "Unknown feed"));
  if (article.category) meta.append(el("span", "category", categoryName(article.category)));
  const time = el("time", "when");
  setTime(time, article.published_at || article.fetched_at);
  meta.append(time);
  if (article.author) meta.append(el("span", "author", article.author));

  card.append(heading, meta);
  if (article.summary) {
    const summary = el("div", "summary");
    summary.append(summaryFragment(article.summary));
    if (summary.textContent.trim()) card.append(summary);
  }
  item.append(card);
  return item;
}
