// One EventSource for all chosen categories (DESIGN.md, "The stream").
//
// States: connecting -> live (the `hello` event arrived), reconnecting (the browser is
// retrying; it resumes with Last-Event-ID by itself), offline (no network, or the browser
// gave up and we reopen with a backoff), delayed (the connection is up but `hello` never
// came: a buffering proxy, so we poll `/api/articles?after=` instead).

const HELLO_TIMEOUT_MS = 4000;
const POLL_INTERVAL_MS = 10000;
const REPLAY_GRACE_MS = 2000;
const REOPEN_DELAYS_MS = [1000, 3000, 5000, 10000, 30000];

export class LiveStream {
  // url: the /api/stream URL; cursor(): newest id shown; catchUp(fromId): fetch and show
  // articles after fromId (a promise); onArticle(article), onReset(), onState(state);
  // onStateEvent(change): a signed-in reader's read/starred change made elsewhere.
  constructor({ url, cursor, catchUp, onArticle, onReset, onState, onStateEvent = () => {} }) {
    Object.assign(this, { url, cursor, catchUp, onArticle, onReset, onState, onStateEvent });
    this.state = "connecting";
    this.es = null;
    this.timers = new Set();
    this.pollTimer = null;
    this.helloTimer = null;
    this.reopenAttempt = 0;
    this.onOnline = () => this.#online();
    this.onOffline = () => this.#setState("offline");
  }

  start() {
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.#open();
  }

  stop() {
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.#close();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.#stopPolling();
    this.stopped = true;
  }

  #later(fn, ms) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  #cancel(timer) {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  #open() {
    this.#cancel(this.reopenTimer);
    const es = new EventSource(this.url);
    this.es = es;
    this.helloCount = 0; // hellos on this EventSource; >0 means later ones are resumes
    this.failing = false;
    this.#armHelloTimer();

    es.addEventListener("open", () => {
      this.failing = false;
    });
    es.addEventListener("hello", (event) => this.#hello(event));
    es.addEventListener("article", (event) => {
      let article;
      try {
        article = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onArticle(article);
    });
    es.addEventListener("reset", () => this.onReset());
    // `event: state` has no id: it never moves the resume point (DESIGN.md "Readers").
    es.addEventListener("state", (event) => {
      try {
        this.onStateEvent(JSON.parse(event.data));
      } catch {
        // A malformed state event changes nothing.
      }
    });
    es.addEventListener("error", () => {
      if (this.es !== es) return;
      this.failing = true;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, a wrong content type): reopen ourselves; the
        // fresh connection catches up through /api/articles?after= on its first hello.
        this.#setState("offline");
        this.#close();
        const delay = REOPEN_DELAYS_MS[Math.min(this.reopenAttempt, REOPEN_DELAYS_MS.length - 1)];
        this.reopenAttempt += 1;
        this.reopenTimer = this.#later(() => this.#open(), delay);
      } else if (!(this.state === "delayed" && this.pollOk)) {
        this.#setState(navigator.onLine === false ? "offline" : "reconnecting");
        this.#armHelloTimer();
      }
    });
  }

  #close() {
    this.#cancel(this.helloTimer);
    if (this.es) this.es.close();
    this.es = null;
  }

  #hello(event) {
    this.#cancel(this.helloTimer);
    this.#stopPolling();
    this.reopenAttempt = 0;
    this.failing = false;
    const from = this.cursor();
    this.helloCount += 1;
    this.#setState("live");
    if (this.helloCount === 1) {
      // A fresh connection: fetch what was committed since the list was loaded.
      this.catchUp(from).catch(() => {});
    } else {
      // A resume: the server replays from Last-Event-ID; check afterwards that nothing is
      // missing (from the newest id shown when the connection came back).
      let lastId = 0;
      try {
        lastId = JSON.parse(event.data).last_id ?? 0;
      } catch {
        // A hello without JSON still means live.
      }
      this.#later(() => {
        if (lastId > this.cursor()) this.catchUp(from).catch(() => {});
      }, REPLAY_GRACE_MS);
    }
  }

  #armHelloTimer() {
    this.#cancel(this.helloTimer);
    this.helloTimer = this.#later(() => {
      if (!this.es) return;
      // Still retrying against a server that is down: polling would fail as well.
      if (this.failing) this.#armHelloTimer();
      else this.#startPolling();
    }, HELLO_TIMEOUT_MS);
  }

  #startPolling() {
    if (this.pollTimer !== null) return;
    const poll = () => {
      this.catchUp(this.cursor()).then(
        () => {
          this.pollOk = true;
          if (this.state !== "live") this.#setState("delayed");
        },
        () => {
          this.pollOk = false;
          if (this.state === "delayed") this.#setState("reconnecting");
        },
      );
    };
    poll();
    this.pollTimer = setInterval(poll, POLL_INTERVAL_MS);
  }

  #stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.pollOk = false;
  }

  #online() {
    if (!this.es) {
      this.#open();
    } else if (this.es.readyState === EventSource.OPEN && this.helloCount > 0) {
      this.#setState("live");
    } else {
      this.#setState("reconnecting");
    }
  }
}
