// The `?` dialog listing the shortcuts. A modal <dialog> holds focus while open and gives
// it back to where it was.

export class HelpDialog {
  constructor(dialog, button) {
    this.dialog = dialog;
    this.returnTo = null;
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      this.returnTo?.focus?.();
      this.returnTo = null;
    });
    button?.addEventListener("click", () => this.open());
  }

  open() {
    if (this.dialog.open) return;
    this.returnTo = document.activeElement;
    this.dialog.showModal();
  }
}
