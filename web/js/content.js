// An article's sanitized HTML for the reading view. The server already sanitized it (nh3);
// this second pass parses it inertly, keeps images (lazy, no referrer) and makes links safe.

import { safeHttpUrl } from "./urls.js";

// Players come from enclosures only (media.js); embedded media and scripts never run here.
const DROP = "script, style, iframe, frame, object, embed, video, audio, svg, math, form, input, button, textarea, select, link, meta, base";

function cleanAttributes(node) {
  for (const attr of [...node.attributes]) {
    const name = attr.name.toLowerCase();
    if (name.startsWith("on") || name === "style" || name === "srcdoc" || name === "id" || name === "class") {
      node.removeAttribute(attr.name);
    }
  }
}

export function contentFragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html || "";
  const content = template.content;
  for (const node of content.querySelectorAll(DROP)) node.remove();
  for (const node of content.querySelectorAll("*")) {
    cleanAttributes(node);
    if (node.tagName === "A") {
      const href = safeHttpUrl(node.getAttribute("href"));
      if (href) node.setAttribute("href", href);
      else node.removeAttribute("href");
      node.target = "_blank";
      node.rel = "noopener noreferrer";
    } else if (node.tagName === "IMG" || node.tagName === "SOURCE") {
      const src = safeHttpUrl(node.getAttribute("src"));
      if (src) node.setAttribute("src", src);
      else node.removeAttribute("src");
      node.removeAttribute("srcset"); // each candidate would need checking; src is enough
      if (node.tagName === "IMG") {
        node.loading = "lazy";
        node.decoding = "async";
        node.referrerPolicy = "no-referrer";
        if (!node.hasAttribute("alt")) node.alt = "";
      }
    }
  }
  return content;
}
