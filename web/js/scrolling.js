// "Mark read as I scroll" (an option): a card that leaves the top of the window
// after being seen is marked read. The choice is remembered in this browser.

const KEY = "feedhub.scrollRead";

export class ScrollMarker {
  constructor(list, checkbox, markRead) {
    this.list = list;
    this.checkbox = checkbox;
    this.markRead = markRead;
    this.seen = new Set();
    this.pending = new Set();
    this.timer = null;
    this.observer = new IntersectionObserver((entries) => this.#observed(entries));
    this.mutations = new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) if (node.matches?.("li.article")) this.observer.observe(node);
        for (const node of record.removedNodes) if (node.matches?.("li.article")) this.observer.unobserve(node);
      }
    });
    let on = false;
    try {
      on = localStorage.getItem(KEY) === "on";
    } catch {
      // No storage: off.
    }
    checkbox.checked = on;
    checkbox.addEventListener("change", () => {
      try {
        localStorage.setItem(KEY, checkbox.checked ? "on" : "off");
      } catch {
        // The choice lasts for this page.
      }
      this.#apply();
    });
    this.#apply();
  }

  #apply() {
    this.observer.disconnect();
    this.mutations.disconnect();
    this.seen.clear();
    if (!this.checkbox.checked) return;
    for (const item of this.list.querySelectorAll("li.article")) this.observer.observe(item);
    this.mutations.observe(this.list, { childList: true });
  }

  #observed(entries) {
    for (const entry of entries) {
      const id = Number(entry.target.dataset.id);
      if (entry.isIntersecting) {
        this.seen.add(id);
      } else if (this.seen.has(id) && entry.boundingClientRect.bottom <= (entry.rootBounds?.top ?? 0) + 1) {
        // Seen, then scrolled past upwards: read. (Leaving at the bottom is not reading.)
        this.seen.delete(id);
        this.pending.add(id);
      }
    }
    if (this.pending.size && this.timer === null) {
      // Batched: a fast scroll sends one request, not one per card.
      this.timer = setTimeout(() => {
        this.timer = null;
        const ids = [...this.pending];
        this.pending.clear();
        this.markRead(ids);
      }, 400);
    }
  }
}
