// The article list: an <ol> kept sorted by id (newest first), each id shown once.

import { renderArticle } from "./card.js";

const MAX_ITEMS = 500; // older items are dropped from the page; "Load more" brings them back

export class ArticleList {
  constructor(list, { categoryName } = {}) {
    this.list = list;
    this.categoryName = categoryName;
    this.ids = new Set();
    this.trimmed = false;
  }

  get size() {
    return this.ids.size;
  }

  get maxId() {
    const first = this.list.firstElementChild;
    return first ? Number(first.dataset.id) : 0;
  }

  get minId() {
    const last = this.list.lastElementChild;
    return last ? Number(last.dataset.id) : 0;
  }

  has(id) {
    return this.ids.has(id);
  }

  clear() {
    this.list.replaceChildren();
    this.ids.clear();
    this.trimmed = false;
  }

  // Older articles from the `before` cursor, newest first.
  append(articles, source = "list") {
    const fragment = document.createDocumentFragment();
    for (const article of articles) {
      if (this.ids.has(article.id)) continue;
      this.ids.add(article.id);
      fragment.append(this.#render(article, source));
    }
    this.list.append(fragment);
  }

  // A newer article (live, replayed or caught up): placed by id, highlighted when `fresh`.
  // Returns false when it was already shown.
  insert(article, { source = "stream", fresh = true } = {}) {
    if (this.ids.has(article.id)) return false;
    this.ids.add(article.id);
    const item = this.#render(article, source);
    if (fresh) {
      item.classList.add("is-new");
      item.addEventListener("animationend", (event) => {
        if (event.animationName === "highlight") item.classList.remove("is-new");
      });
    }
    let next = this.list.firstElementChild;
    while (next && Number(next.dataset.id) > article.id) next = next.nextElementSibling;
    this.list.insertBefore(item, next);
    this.#trim();
    return true;
  }

  #render(article, source) {
    const item = renderArticle(article, { categoryName: this.categoryName });
    item.dataset.source = source;
    return item;
  }

  #trim() {
    while (this.ids.size > MAX_ITEMS) {
      const last = this.list.lastElementChild;
      this.ids.delete(Number(last.dataset.id));
      last.remove();
      this.trimmed = true;
    }
  }
}
