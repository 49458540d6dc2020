// The article list: an <ol> kept in publication order (newest first, ties by id), each id
// shown once. Live arrivals are placed where their date puts them, not always on top.

import { listedTime, renderArticle } from "./card.js";

const MAX_ITEMS = 500; // older items are dropped from the page; "Load more" starts afresh

// Newer first: a larger listed time, then a larger id.
function before(time, id, item) {
  const other = Number(item.dataset.listed);
  return time > other || (time === other && id > Number(item.dataset.id));
}

export class ArticleList {
  constructor(list, { categoryName, decorate = () => {} } = {}) {
    this.list = list;
    this.categoryName = categoryName;
    this.decorate = decorate; // (item, article): read/starred marks
    this.ids = new Set();
    this.newestId = 0; // the catch-up cursor: ids are commit order, the list is not
    this.trimmed = false;
  }

  get size() {
    return this.ids.size;
  }

  get maxId() {
    return this.newestId;
  }

  has(id) {
    return this.ids.has(id);
  }

  item(id) {
    return this.list.querySelector(`li.article[data-id="${Number(id)}"]`);
  }

  items() {
    return [...this.list.children];
  }

  clear() {
    this.list.replaceChildren();
    this.ids.clear();
    this.newestId = 0;
    this.trimmed = false;
  }

  #remember(article) {
    this.ids.add(article.id);
    if (article.id > this.newestId) this.newestId = article.id;
  }

  // A page from the server, already in list order: appended below what is shown.
  append(articles, source = "list") {
    const fragment = document.createDocumentFragment();
    for (const article of articles) {
      if (this.ids.has(article.id)) continue;
      this.#remember(article);
      fragment.append(this.#render(article, source));
    }
    this.list.append(fragment);
  }

  // A newer article (live, replayed or caught up): placed by publication time, highlighted
  // when `fresh`. Returns false when it was already shown.
  insert(article, { source = "stream", fresh = true } = {}) {
    if (this.ids.has(article.id)) return false;
    this.#remember(article);
    const item = this.#render(article, source);
    if (fresh) {
      item.classList.add("is-new");
      item.addEventListener("animationend", (event) => {
        if (event.animationName === "highlight") item.classList.remove("is-new");
      });
    }
    const time = listedTime(article);
    let next = this.list.firstElementChild;
    while (next && !before(time, article.id, next)) next = next.nextElementSibling;
    this.list.insertBefore(item, next);
    this.#trim();
    return true;
  }

  remove(id) {
    const item = this.item(id);
    if (!item) return;
    this.ids.delete(Number(id));
    item.remove();
  }

  #render(article, source) {
    const item = renderArticle(article, { categoryName: this.categoryName });
    item.dataset.source = source;
    this.decorate(item, article);
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
