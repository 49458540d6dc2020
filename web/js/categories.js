// Category toggles. The choice lives in the URL (?category=a&category=b, so it can be
// bookmarked and shared) and in localStorage (so a bare "/" remembers it).

const STORAGE_KEY = "feedhub.categories";

export function readChoice() {
  const params = new URLSearchParams(location.search);
  if (params.has("category")) return [...new Set(params.getAll("category").filter(Boolean))];
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY));
    if (Array.isArray(saved)) return saved.filter((slug) => typeof slug === "string");
  } catch {
    // Storage disabled or corrupt: start with every category.
  }
  return [];
}

export function saveChoice(slugs) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(slugs));
  } catch {
    // Private mode may refuse storage; the URL still carries the choice.
  }
  const url = new URL(location.href);
  url.searchParams.delete("category");
  for (const slug of slugs) url.searchParams.append("category", slug);
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}

export class CategoryPicker {
  // container: the role=group element; onChange(slugs) after every toggle.
  constructor(container, { onChange }) {
    this.container = container;
    this.onChange = onChange;
    this.names = new Map();
  }

  name(slug) {
    return this.names.get(slug) ?? slug;
  }

  get selected() {
    return [...this.container.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
  }

  // Draws the toggles; returns the part of `chosen` that still exists.
  render(categories, chosen) {
    this.names = new Map(categories.map((c) => [c.slug, c.name]));
    const kept = chosen.filter((slug) => this.names.has(slug));

    const all = document.createElement("button");
    all.type = "button";
    all.className = "chip chip-all";
    all.id = "all-categories";
    all.textContent = "All";
    all.addEventListener("click", () => {
      for (const input of this.container.querySelectorAll("input:checked")) input.checked = false;
      this.#changed();
    });

    const chips = categories.map((category) => {
      const label = document.createElement("label");
      label.className = "chip";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = category.slug;
      input.name = "category";
      input.checked = kept.includes(category.slug);
      input.addEventListener("change", () => this.#changed());
      const name = document.createElement("span");
      name.className = "chip-name";
      name.textContent = category.name;
      label.append(input, name);
      label.title = `${category.feed_count} feed${category.feed_count === 1 ? "" : "s"}`;
      return label;
    });

    this.container.replaceChildren(all, ...chips);
    this.#syncAll();
    return kept;
  }

  // Unread counts on the chips (signed in); null removes them.
  setCounts(counts) {
    for (const label of this.container.querySelectorAll("label.chip")) {
      const slug = label.querySelector("input").value;
      let badge = label.querySelector(".chip-count");
      const n = counts ? counts.categories?.[slug] ?? 0 : 0;
      if (!counts || n === 0) {
        badge?.remove();
        continue;
      }
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "chip-count";
        label.append(badge);
      }
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " unread";
      badge.replaceChildren(n > 999 ? "999+" : String(n), hidden);
    }
  }

  #syncAll() {
    const all = this.container.querySelector("#all-categories");
    if (all) all.setAttribute("aria-pressed", String(this.selected.length === 0));
  }

  #changed() {
    this.#syncAll();
    this.onChange(this.selected);
  }
}
