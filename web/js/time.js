// Relative times ("3 min ago") with the exact time kept for a tooltip.

const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "long" });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

export function relativeTime(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(seconds) < 45) return seconds > 0 ? "in a moment" : "just now";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
  }
  return relative.format(Math.sign(seconds), "minute"); // 45-59 s: "1 minute ago" / "in 1 minute"
}

export function exactTime(date) {
  return exact.format(date);
}

// Fill a <time> element; refreshTimes() keeps the relative text current.
export function setTime(element, iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) {
    element.textContent = "";
    return;
  }
  element.dateTime = date.toISOString();
  element.title = exactTime(date);
  element.textContent = relativeTime(date);
}

export function refreshTimes(root = document) {
  for (const element of root.querySelectorAll("time[datetime]")) {
    element.textContent = relativeTime(new Date(element.dateTime));
  }
}
