// The account dialog's secret feed URL: the reader's own Atom feed of all categories with
// their key (`?key=`), for a feed reader that cannot sign in; "New secret URL" rotates the
// key (POST /api/me/feed-key), and every URL with the old key stops working.

import { request } from "./api.js";
import { feedUrl, setFeedKey } from "./outfeeds.js";

const $ = (selector) => document.querySelector(selector);

let current = null;

function draw() {
  const field = $("#feed-key-url");
  field.value = current ? feedUrl("/all/atom.xml", current) : "";
  $("#feed-key").hidden = !current;
}

export function showFeedKey(key) {
  current = key || null;
  setFeedKey(current);
  draw();
}

export function setUpFeedKey({ announce, showMessage }) {
  $("#feed-key-url").addEventListener("focus", (event) => event.currentTarget.select());
  $("#feed-key-rotate").addEventListener("click", async (event) => {
    if (!window.confirm("Make a new secret URL? Feed readers using the old one stop getting articles.")) return;
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const answer = await request("POST", "/api/me/feed-key");
      showFeedKey(answer.feed_key);
      announce("New secret feed URL made; the old one no longer works.");
    } catch (error) {
      showMessage(`Could not make a new secret URL: ${error.detail || error}`);
    } finally {
      button.disabled = false;
    }
  });
}
