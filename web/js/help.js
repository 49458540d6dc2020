// The `?` dialog listing the shortcuts. A modal <dialog> holds focus while open and gives
// it back to where it was.

export class HelpDialog {
  // `refocus()` puts focus back when the element that had it is gone: the list may be drawn
  // again while the dialog is open (a reload, a catch-up), and its old card with it.
  constructor(dialog, button, refocus = () => {}) {
    this.dialog = dialog;
    this.returnTo = null;
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      const target = this.returnTo;
      this.returnTo = null;
      if (target?.isConnected && target !== document.body) target.focus();
      else refocus();
    });
    button?.addEventListener("click", () => this.open());
  }

  open() {
    if (this.dialog.open) return;
    this.returnTo = document.activeElement;
    this.dialog.showModal();
  }
}
