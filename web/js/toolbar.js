// The list's toolbar for a signed-in reader: All / Unread / Starred, and "Mark all read",
// bounded by the newest article shown so one arriving meanwhile stays unread.

const $ = (selector) => document.querySelector(selector);

export function setUpToolbar(hooks) {
  const views = $("#views");
  views.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-view]");
    if (!button) return;
    for (const other of views.querySelectorAll("button[data-view]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    hooks.setView(button.dataset.view);
  });

  $("#mark-all").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    const state = hooks.state();
    const uptoId = hooks.newestShownId();
    if (!state.signedIn || !uptoId) return;
    const categories = hooks.chosen();
    const feed = hooks.feed();
    const where = feed !== null ? "in this feed" : categories.length ? `in ${categories.length === 1 ? "this category" : "these categories"}` : "in every category";
    if (!window.confirm(`Mark every article ${where} as read, up to the newest one shown?`)) return;
    button.disabled = true;
    try {
      await state.markAllRead({ categories, feed, uptoId });
      const scopes = feed !== null ? [{ feed_id: feed }] : categories.length ? categories.map((category) => ({ category })) : [{}];
      for (const scope of scopes) state.markCovered(hooks.items(), { ...scope, upto_id: uptoId });
      hooks.redrawStates();
      hooks.announce("Marked all as read.");
      if (hooks.view() === "unread") hooks.reload();
    } catch (error) {
      hooks.showMessage(`Could not mark all read: ${error.detail || error.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

// Resets the view buttons to "All" (after signing out, for instance).
export function resetViews() {
  for (const button of document.querySelectorAll("#views button[data-view]")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === "all"));
  }
}
