// Read and starred marks as the reader changes them: saved through the current state
// (local marks, or the server's once signed in) and drawn on the cards and the reading view.

import { showState } from "./card.js";

const $ = (selector) => document.querySelector(selector);

export class Marking {
  // page.state: the current state; articles: the ArticleList; reading: the ReadingView;
  // say(text): a polite announcement; showMessage(text): a visible error.
  constructor({ page, articles, reading, say, showMessage }) {
    Object.assign(this, { page, articles, reading, say, showMessage });
  }

  get state() {
    return this.page.state;
  }

  decorate(item, id) {
    const state = this.state;
    showState(item, { read: state.isRead(id), starred: state.isStarred(id), canStar: state.signedIn });
  }

  redraw() {
    for (const item of this.articles.items()) this.decorate(item, Number(item.dataset.id));
    this.drawReading();
  }

  drawReading() {
    const id = this.reading.id;
    if (id === null) return;
    const starred = this.state.isStarred(id);
    $("#reading-mark").textContent = this.state.isRead(id) ? "Mark unread" : "Mark read";
    const star = $("#reading-star");
    star.hidden = !this.state.signedIn;
    star.textContent = starred ? "★ Starred" : "☆ Star";
    star.setAttribute("aria-pressed", String(starred));
  }

  #drawOne(id) {
    const item = this.articles.item(id);
    if (item) this.decorate(item, id);
    if (this.reading.id === id) this.drawReading();
  }

  // `quiet`: no announcement (opening an article, scrolling past: the reader did not ask).
  async setRead(ids, read, { quiet = false } = {}) {
    const changed = ids.filter((id) => id !== null && this.state.isRead(id) !== read);
    if (!changed.length) return;
    try {
      await this.state.setRead(changed, read);
    } catch (error) {
      if (error.status === 401) return; // signed out meanwhile: account.js says so
      this.showMessage(`Could not save: ${error.message}`);
    }
    for (const id of changed) this.#drawOne(id);
    if (!quiet) this.say(read ? "Marked read." : "Marked unread.");
  }

  async toggleStar(id) {
    if (!this.state.signedIn) {
      this.say("Sign in to star articles.");
      return;
    }
    const starred = !this.state.isStarred(id);
    try {
      await this.state.setStarred(id, starred);
    } catch (error) {
      if (error.status === 401) return; // signed out meanwhile: account.js says so
      this.showMessage(`Could not save: ${error.message}`);
    }
    this.#drawOne(id);
    this.say(starred ? "Starred." : "Unstarred.");
  }
}
