// Readable error texts for the admin page: a sentence for people, the server's own words
// kept behind a "details" toggle (raw parser messages were shown as they were).

const RULES = [
  [/admin token|not authori[sz]ed/i, "The server refused the admin token. If feedhub was restarted with a new token, sign in again: `feedhub token` prints the current one."],
  [/already exists/i, "That is already there."],
  [/could not resolve/i, "The site's host name could not be found (a typo, or no network)."],
  [/network guard|private|loopback|link-local/i, "That address is on a private network; feedhub refuses those unless FEEDHUB_ALLOW_PRIVATE_NETWORKS is on."],
  [/timed out|timeout/i, "The site did not answer in time."],
  [/HTML page that links no feed|returned an HTML page/i, "That address is a web page without a feed link. Look for its RSS or Atom link and use that."],
  [/not an OPML file/i, "That file is not an OPML subscription list."],
  [/not a (valid JSON )?feed|syntax error|malformed|parser crashed|no body/i, "That address did not return a feed the parser can read."],
  [/too large/i, "The feed is larger than feedhub accepts (FEEDHUB_MAX_FEED_BYTES)."],
  [/too many redirects/i, "The site redirects in circles."],
  [/still has \d+ feed/i, "Move or delete this category's feeds first."],
  [/does not exist/i, "It does not exist (any more): reload the list."],
  [/cannot be reached/i, "The feedhub server cannot be reached."],
  [/\bHTTP (\d{3})\b/, (m) => `The site answered ${m[1]}${m[1] === "404" || m[1] === "410" ? ": the feed is not there (any more)" : ": an error"}.`],
];

// { summary, details }: details is the raw text, or "" when the summary already is it.
export function readable(raw) {
  const text = String(raw ?? "").trim();
  for (const [pattern, summary] of RULES) {
    const match = text.match(pattern);
    if (match) return { summary: typeof summary === "function" ? summary(match) : summary, details: text };
  }
  return { summary: text || "Something went wrong.", details: "" };
}

// A summary line, and the raw text in a <details> element when there is more to say.
export function errorNodes(raw, summaryClass = "") {
  const { summary, details } = readable(raw);
  const line = document.createElement("span");
  line.className = summaryClass;
  line.textContent = summary;
  if (!details) return [line];
  const box = document.createElement("details");
  box.className = "error-details";
  const label = document.createElement("summary");
  label.textContent = "details";
  const code = document.createElement("code");
  code.textContent = details;
  box.append(label, code);
  return [line, box];
}
