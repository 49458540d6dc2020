// "(N new)" in the tab title while the page is hidden.

export class UnreadCounter {
  constructor() {
    this.base = document.title;
    this.count = 0;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reset();
    });
  }

  add(n = 1) {
    if (document.visibilityState === "visible") return;
    this.count += n;
    document.title = `(${this.count} new) ${this.base}`;
  }

  reset() {
    this.count = 0;
    document.title = this.base;
  }
}
