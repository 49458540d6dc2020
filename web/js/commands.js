// What the buttons and keys of the page do to the current article (list or reading view).

import { HelpDialog } from "./help.js";
import { installShortcuts } from "./keyboard.js";

const $ = (selector) => document.querySelector(selector);

// page: { articles, selection, reading, isRead(id), setRead(ids, read), toggleStar(id),
// refresh() }.
export function setUpCommands(page) {
  const { articles, selection, reading } = page;
  const currentId = () => (reading.isOpen ? reading.id : selection.currentId);
  const toggleRead = (id) => page.setRead([id], !page.isRead(id));

  $("#articles").addEventListener("click", (event) => {
    const control = event.target.closest("button[data-action]");
    if (!control) return;
    const id = Number(control.closest("li.article").dataset.id);
    if (control.dataset.action === "open") reading.open(id);
    else if (control.dataset.action === "mark") toggleRead(id);
    else if (control.dataset.action === "star") page.toggleStar(id);
  });
  $("#reading-mark").addEventListener("click", () => toggleRead(reading.id));
  $("#reading-star").addEventListener("click", () => page.toggleStar(reading.id));

  const help = new HelpDialog($("#help"), $("#help-button"), () => {
    const item = reading.isOpen ? null : selection.item;
    if (item) selection.select(item);
  });
  const step = (delta) => (reading.isOpen ? reading.step(delta) : selection.move(delta) !== null);
  const onCurrent = (fn) => () => {
    const id = currentId();
    if (id === null) return false;
    fn(id);
    return true;
  };

  installShortcuts({
    next: () => step(1),
    previous: () => step(-1),
    open: () => {
      if (reading.isOpen || selection.currentId === null) return false;
      reading.open(selection.currentId);
      return true;
    },
    toggleRead: onCurrent(toggleRead),
    toggleStar: onCurrent((id) => page.toggleStar(id)),
    refresh: () => {
      reading.close();
      page.refresh();
      return true;
    },
    original: () => {
      const url = reading.isOpen
        ? reading.originalUrl()
        : articles.item(currentId() ?? -1)?.querySelector(".article-title a")?.href;
      if (!url) return false;
      window.open(url, "_blank", "noopener,noreferrer");
      return true;
    },
    help: () => {
      help.open();
      return true;
    },
    close: () => reading.close(),
  });
}
