// The connection badge (#status[data-state]) and a polite screen-reader announcement of
// new arrivals, batched so a burst is read out once.

const LABELS = {
  connecting: ["Connecting…", "Connecting to the live stream"],
  live: ["Live", "Live: new articles appear as they are fetched"],
  reconnecting: ["Reconnecting…", "Connection lost; reconnecting. Missed articles will be fetched."],
  offline: ["Offline", "Offline: the server cannot be reached"],
  delayed: ["Delayed", "Updates are delayed: the live stream is blocked, checking every few seconds"],
};

export class StatusBadge {
  constructor(badge, announcer) {
    this.badge = badge;
    this.text = badge.querySelector(".status-text");
    this.announcer = announcer;
    this.pending = 0;
    this.timer = null;
  }

  set(state) {
    const [text, title] = LABELS[state] ?? [state, state];
    this.badge.dataset.state = state;
    this.badge.title = title;
    this.text.textContent = text;
  }

  // A polite message for screen readers (and nothing on screen).
  say(text) {
    this.announcer.textContent = "";
    setTimeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }

  announceNew(count) {
    this.pending += count;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const n = this.pending;
      this.pending = 0;
      this.announcer.textContent = `${n} new article${n === 1 ? "" : "s"}`;
    }, 1500);
  }
}
