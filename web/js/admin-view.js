// Rendering for the admin page: feed rows with their health, category lists. Text only.

import { setTime } from "./time.js";
import { errorNodes } from "./admin-errors.js";
import { stateOf } from "./admin-filter.js";

function cell(label, ...children) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.append(...children);
  return td;
}

function span(className, text) {
  const node = document.createElement("span");
  node.className = className;
  node.textContent = text;
  return node;
}

function timeOrDash(iso, fallback) {
  if (!iso) return span("muted", fallback);
  const time = document.createElement("time");
  setTime(time, iso);
  return time;
}

// What the schedule says of a feed, as `feedhub feeds list` does: when, every how long, why.
const REASONS = {
  "adaptive": "from how often the feed publishes",
  "timed to the source": "a few minutes after the feed's next expected publication",
  "feed's hint": "the feed asks for it (RSS ttl, Cache-Control or Expires)",
  "fixed": "the poll interval set for this feed",
  "backoff": "the feed failed: waiting longer after each failure",
  "Retry-After": "its server asked for a pause",
  "push safety": "WebSub pushes arrive: polled only in case they stop",
};

export function every(seconds) {
  if (seconds == null) return "";
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function nextPoll(feed) {
  const node = document.createElement("div");
  node.append(timeOrDash(feed.next_poll_at, feed.enabled ? "soon" : "paused"));
  if (feed.enabled && (feed.current_interval != null || feed.poll_reason)) {
    const parts = [];
    if (feed.current_interval != null) parts.push(`every ${every(feed.current_interval)}`);
    if (feed.poll_reason) parts.push(feed.poll_reason);
    const why = span("muted poll-reason", parts.join(" · "));
    if (feed.poll_reason) why.title = REASONS[feed.poll_reason] || feed.poll_reason;
    node.append(document.createElement("br"), why);
  }
  return node;
}

function button(text, action, label, className = "button button-quiet") {
  const node = document.createElement("button");
  node.type = "button";
  node.className = className;
  node.textContent = text;
  node.dataset.action = action;
  node.setAttribute("aria-label", label);
  return node;
}

function healthOf(feed) {
  const state = stateOf(feed);
  if (state === "paused") return ["paused", feed.disabled_reason ? `Paused: ${feed.disabled_reason}` : "Paused"];
  if (state === "failing") return ["error", `Failing (${feed.error_count} error${feed.error_count === 1 ? "" : "s"})`];
  if (state === "never") return ["pending", "Never polled"];
  return ["ok", feed.last_status ? `OK (${feed.last_status})` : "OK"];
}

export function feedRow(feed, categoryName) {
  const row = document.createElement("tr");
  row.dataset.id = String(feed.id);
  const name = feed.title || feed.url;
  const [health, healthText] = healthOf(feed);
  row.dataset.health = health;

  const title = document.createElement("div");
  title.className = "feed-title";
  title.textContent = name;
  const url = span("feed-url", feed.url);
  const feedCell = cell("Feed", title, url);

  const status = document.createElement("div");
  status.append(span(`health health-${health}`, healthText));
  if (feed.push) {
    // WebSub: the hub's state, and what its pushes did.
    const push = feed.push;
    const pushed = push.last_push_at ? `, last push ${new Date(push.last_push_at).toLocaleString()}` : "";
    status.append(span("feed-push", `Push ${push.state}${push.healthy ? "" : " (polled)"}: `
      + `${push.pushes_received} received, ${push.pushes_rejected} rejected${pushed}`));
  }
  if (feed.last_error) {
    const error = document.createElement("div");
    error.className = "feed-error";
    error.append(...errorNodes(feed.last_error));
    status.append(error);
  }

  const actions = document.createElement("div");
  actions.className = "row-actions";
  actions.append(
    button("Refresh", "refresh", `Refresh ${name} now`),
    button("Edit", "edit", `Edit ${name}`),
    button(feed.enabled ? "Pause" : "Resume", "toggle", `${feed.enabled ? "Pause" : "Resume"} ${name}`),
    button("Delete", "delete", `Delete ${name}`, "button button-danger"),
  );

  row.append(
    feedCell,
    cell("Category", categoryName(feed.category)),
    cell("Status", status),
    cell("Last poll", timeOrDash(feed.last_polled_at, "never")),
    cell("Next poll", nextPoll(feed)),
    cell("Articles", String(feed.article_count ?? 0)),
    cell("Actions", actions),
  );
  return row;
}

export function categoryItem(category) {
  const item = document.createElement("li");
  item.dataset.slug = category.slug;
  const label = span("category-name", category.name);
  const meta = span("muted", ` ${category.slug} · ${category.feed_count} feed${category.feed_count === 1 ? "" : "s"}`);
  const actions = document.createElement("span");
  actions.className = "row-actions";
  actions.append(
    button("Rename", "rename-category", `Rename category ${category.name}`),
    button("Delete", "delete-category", `Delete category ${category.name}`, "button button-danger"),
  );
  item.append(label, meta, actions);
  return item;
}

export function categoryOption(category) {
  const option = document.createElement("option");
  option.value = category.slug;
  option.textContent = category.name;
  return option;
}
