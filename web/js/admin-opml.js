// OPML import (a file from this computer, sent as the request body) and export (a download).

import { readable } from "./admin-errors.js";

function line(text, className = "") {
  const item = document.createElement("li");
  item.className = className;
  item.textContent = text;
  return item;
}

// The import report: counts, then every feed that was not imported and why.
export function drawReport(box, report) {
  const heading = document.createElement("p");
  heading.textContent =
    `Imported: ${report.created} new, ${report.existing} already here, ${report.invalid} not imported.`;
  const list = document.createElement("ul");
  list.className = "opml-invalid";
  for (const feed of report.feeds.filter((f) => f.status === "invalid")) {
    const { summary, details } = readable(feed.reason);
    list.append(line(`${feed.url}: ${summary}${details ? ` (${details})` : ""}`));
  }
  box.replaceChildren(heading, ...(list.children.length ? [list] : []));
  box.hidden = false;
}

export async function importFile(file, admin) {
  const body = await file.text();
  return admin("POST", "/opml", undefined, { raw: { body, type: "text/x-opml" } });
}

export async function exportAll(admin) {
  const text = await admin("GET", "/opml", undefined, { text: true });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/x-opml" }));
  link.download = "feedhub.opml";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
