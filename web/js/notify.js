// Optional desktop notifications: permission is asked only when the reader clicks.

const STORAGE_KEY = "feedhub.notify";

export class Notifier {
  constructor(button) {
    this.button = button;
    this.supported = "Notification" in window;
    if (!this.supported) return;
    this.enabled = Notification.permission === "granted" && localStorage.getItem(STORAGE_KEY) === "on";
    button.hidden = false;
    button.addEventListener("click", () => this.#toggle());
    this.#draw();
  }

  async #toggle() {
    if (this.enabled) {
      this.enabled = false;
    } else {
      const permission = await Notification.requestPermission();
      this.enabled = permission === "granted";
    }
    try {
      localStorage.setItem(STORAGE_KEY, this.enabled ? "on" : "off");
    } catch {
      // Without storage the choice lasts for this page only.
    }
    this.#draw();
  }

  #draw() {
    const denied = Notification.permission === "denied";
    this.button.setAttribute("aria-pressed", String(this.enabled));
    this.button.disabled = denied;
    this.button.textContent = denied ? "Notifications blocked" : this.enabled ? "Notifying" : "Notify me";
  }

  // Only while the tab is hidden: a visible page already shows the article.
  show(article) {
    if (!this.supported || !this.enabled || document.visibilityState === "visible") return;
    const notification = new Notification(article.title || "New article", {
      body: article.feed_title || "",
      tag: `feedhub-${article.id}`,
    });
    notification.addEventListener("click", () => {
      window.focus();
      notification.close();
    });
  }
}
