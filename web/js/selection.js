// The current article in the list: moved by j/k, focused so screen readers announce it
// (its heading labels it), and scrolled into view.

export class Selection {
  constructor(list) {
    this.list = list;
    this.currentId = null;
    // A click or Tab into a card makes it current too.
    list.addEventListener("focusin", (event) => {
      const item = event.target.closest?.("li.article");
      if (item) this.#mark(item);
    });
  }

  get item() {
    if (this.currentId === null) return null;
    return this.list.querySelector(`li.article[data-id="${this.currentId}"]`);
  }

  // Moves by `delta` cards; returns the newly current item (or null at either end).
  move(delta) {
    const items = [...this.list.querySelectorAll("li.article")];
    if (!items.length) return null;
    const index = items.indexOf(this.item);
    const target = index === -1 ? items[delta > 0 ? 0 : items.length - 1] : items[index + delta];
    if (!target) return null;
    this.select(target);
    return target;
  }

  select(item, { focus = true } = {}) {
    this.#mark(item);
    if (focus) {
      const card = item.querySelector("article.card");
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
    }
  }

  #mark(item) {
    this.list.querySelector("li.article.is-current")?.classList.remove("is-current");
    item.classList.add("is-current");
    this.currentId = Number(item.dataset.id);
  }
}
