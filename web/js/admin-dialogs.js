// The edit-feed and rename-category dialogs: fill, wait for Save or Cancel, send a PATCH.

const $ = (selector) => document.querySelector(selector);

// Resolves to the dialog form's fields when Save was pressed, to null on Cancel or Escape.
function ask(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => resolve(dialog.returnValue === "save" ? dialog.querySelector("form").elements : null),
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
  });
}

export async function editFeed(feed, categories, admin) {
  const dialog = $("#edit-feed");
  const fields = dialog.querySelector("form").elements;
  $("#edit-feed-url").textContent = feed.url;
  fields.title.value = feed.title || "";
  const select = fields.category;
  select.replaceChildren(
    ...categories.map((c) => Object.assign(document.createElement("option"), { value: c.slug, textContent: c.name })),
  );
  select.value = feed.category;
  fields.interval.value = feed.poll_interval ? String(Math.round(feed.poll_interval / 60)) : "";
  const answer = await ask(dialog);
  if (!answer) return null;
  const change = {};
  const title = answer.title.value.trim();
  if (title && title !== feed.title) change.title = title;
  if (!title && feed.title) change.title = null;
  if (answer.category.value !== feed.category) change.category = answer.category.value;
  const minutes = answer.interval.value.trim();
  const interval = minutes ? Math.round(Number(minutes) * 60) : null;
  if (interval !== (feed.poll_interval ?? null)) change.poll_interval = interval;
  if (Object.keys(change).length === 0) return null;
  return admin("PATCH", `/feeds/${feed.id}`, change);
}

export async function renameCategory(category, admin) {
  const dialog = $("#rename-category");
  const fields = dialog.querySelector("form").elements;
  fields.name.value = category.name;
  const answer = await ask(dialog);
  const name = answer ? answer.name.value.trim() : "";
  if (!name || name === category.name) return null;
  return admin("PATCH", `/categories/${encodeURIComponent(category.slug)}`, { name });
}
