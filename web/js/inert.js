// HTML from a feed, parsed inertly: a <template> neither runs scripts nor loads anything.
// The server sanitized it already (nh3); this second pass, shared by the list's summaries
// and the reading view, removes the `drop` elements, event handlers and styles, and makes
// every link safe and external. `more(node)` treats the other elements (images, say).

import { safeHttpUrl } from "./urls.js";

const ALWAYS_STRIPPED = ["style", "srcdoc"];

export function inertFragment(html, { drop, strip = [], more = null }) {
  const template = document.createElement("template");
  template.innerHTML = html || "";
  const content = template.content;
  const stripped = new Set([...ALWAYS_STRIPPED, ...strip]);
  for (const node of content.querySelectorAll(drop)) node.remove();
  for (const node of content.querySelectorAll("*")) {
    for (const attr of [...node.attributes]) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || stripped.has(name)) node.removeAttribute(attr.name);
    }
    if (node.tagName === "A") {
      const href = safeHttpUrl(node.getAttribute("href"));
      if (href) node.setAttribute("href", href);
      else node.removeAttribute("href");
      node.target = "_blank";
      node.rel = "noopener noreferrer";
    } else if (more) {
      more(node);
    }
  }
  return content;
}
