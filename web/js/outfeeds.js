// Links to the page's own output feeds (Atom and JSON Feed, for all articles and for each
// category), in the footer, in every mode; with the signed-in reader's secret key when
// there is one, since private mode answers an output feed only with it (`?key=`).

const $ = (selector) => document.querySelector(selector);

let categories = [];
let key = null;

export function feedUrl(path, withKey = key) {
  const url = new URL(path, location.origin);
  if (withKey) url.searchParams.set("key", withKey);
  return url.href;
}

function link(path, text, label) {
  const a = Object.assign(document.createElement("a"), { href: feedUrl(path), textContent: text });
  a.setAttribute("aria-label", label);
  return a;
}

function row(name, base) {
  const li = document.createElement("li");
  li.append(
    `${name}: `,
    link(`${base}/atom.xml`, "Atom", `${name} as Atom`),
    " · ",
    link(`${base}/feed.json`, "JSON Feed", `${name} as JSON Feed`),
  );
  return li;
}

function draw() {
  const list = $("#outfeeds-list");
  if (!list) return;
  list.replaceChildren(
    row("All categories", "/all"),
    ...categories.map((c) => row(c.name, `/categories/${encodeURIComponent(c.slug)}`)),
  );
}

export function setFeedCategories(list) {
  categories = list;
  draw();
}

export function setFeedKey(value) {
  key = value || null;
  draw();
}
