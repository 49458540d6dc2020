// Read marks kept in this browser, for anonymous reading: the same interface as
// the server's state (state.js), without stars and without other devices.

const KEY = "feedhub.read";
const LIMIT = 5000; // the oldest marks are forgotten first

export class LocalMarks {
  constructor() {
    this.signedIn = false;
    this.read = new Set();
    try {
      const saved = JSON.parse(localStorage.getItem(KEY));
      if (Array.isArray(saved)) this.read = new Set(saved.filter(Number.isInteger));
    } catch {
      // No storage (private mode) or a corrupt value: start empty.
    }
  }

  isRead(id) {
    return this.read.has(id);
  }

  isStarred() {
    return false;
  }

  async setRead(ids, read) {
    for (const id of ids) {
      this.read.delete(id);
      if (read) this.read.add(id);
    }
    const kept = [...this.read].slice(-LIMIT);
    this.read = new Set(kept);
    try {
      localStorage.setItem(KEY, JSON.stringify(kept));
    } catch {
      // Storage refused: the marks last for this page.
    }
  }
}
