// Keyboard shortcuts: j/k next/previous, o or Enter open, m read/unread, s star,
// r refresh, v open the original, ? help, Escape back. Typing in a field, a modifier key,
// or an open dialog leaves every key alone.

const KEYS = {
  j: "next",
  k: "previous",
  o: "open",
  m: "toggleRead",
  s: "toggleStar",
  r: "refresh",
  v: "original",
  "?": "help",
  Escape: "close",
};

function typing(target) {
  if (!(target instanceof Element)) return false;
  return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]"));
}

// actions: { next, previous, open, toggleRead, toggleStar, refresh, original, help, close };
// each returns false when it did nothing (the key then keeps its default).
export function installShortcuts(actions) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.querySelector("dialog[open]")) return; // the dialog has the keyboard
    if (typing(event.target)) return;
    let name = KEYS[event.key];
    // Enter opens the focused card; on a link or a button it keeps its own meaning.
    if (event.key === "Enter" && event.target instanceof Element && event.target.matches("article.card")) {
      name = "open";
    }
    if (!name || !actions[name]) return;
    if (actions[name]() !== false) event.preventDefault();
  });
}
