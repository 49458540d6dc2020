// An article's sanitized HTML for the reading view. The server already sanitized it (nh3);
// this second pass parses it inertly, keeps images (lazy, no referrer) and makes links safe.

import { inertFragment } from "./inert.js";
import { safeHttpUrl } from "./urls.js";

// Players come from enclosures only (media.js); embedded media and scripts never run here.
const DROP = "script, style, iframe, frame, object, embed, video, audio, svg, math, form, input, button, textarea, select, link, meta, base";

// Images load lazily, with no referrer, from http(s) only; media players come from
// enclosures (media.js).
function image(node) {
  if (node.tagName !== "IMG" && node.tagName !== "SOURCE") return;
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

export function contentFragment(html) {
  return inertFragment(html, { drop: DROP, strip: ["id", "class"], more: image });
}
