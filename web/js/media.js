// Enclosures as players (podcasts, video) with their type and size, and a download link.

import { safeHttpUrl } from "./urls.js";

const AUDIO_EXT = /\.(mp3|m4a|aac|oga|ogg|opus|wav|flac)(\?|#|$)/i;
const VIDEO_EXT = /\.(mp4|m4v|webm|ogv|mov)(\?|#|$)/i;

export function mediaKind(enclosure) {
  const type = (enclosure.type || "").toLowerCase();
  if (type.startsWith("audio/")) return "audio";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("image/")) return "image";
  if (AUDIO_EXT.test(enclosure.url)) return "audio";
  if (VIDEO_EXT.test(enclosure.url)) return "video";
  return "file";
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes <= 0) return "";
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

function fileName(url) {
  try {
    const last = new URL(url).pathname.split("/").filter(Boolean).pop();
    return last ? decodeURIComponent(last) : url;
  } catch {
    return url;
  }
}

const LABELS = { audio: "Audio", video: "Video", image: "Image", file: "File" };

export function renderEnclosure(enclosure) {
  const url = safeHttpUrl(enclosure.url);
  if (!url) return null;
  const kind = mediaKind(enclosure);
  const figure = document.createElement("figure");
  figure.className = `enclosure enclosure-${kind}`;

  if (kind === "audio" || kind === "video") {
    const player = document.createElement(kind);
    player.controls = true;
    player.preload = "metadata";
    const source = document.createElement("source");
    source.src = url;
    if (enclosure.type) source.type = enclosure.type;
    player.append(source);
    player.setAttribute("aria-label", `${LABELS[kind]}: ${fileName(url)}`);
    figure.append(player);
  } else if (kind === "image") {
    const image = document.createElement("img");
    image.src = url;
    image.alt = "";
    image.loading = "lazy";
    image.referrerPolicy = "no-referrer";
    figure.append(image);
  }

  const caption = document.createElement("figcaption");
  const facts = [LABELS[kind], enclosure.type, formatBytes(enclosure.length)].filter(Boolean);
  const text = document.createElement("span");
  text.className = "enclosure-facts";
  text.textContent = facts.join(" · ");
  const link = document.createElement("a");
  link.href = url;
  link.textContent = `Download ${fileName(url)}`;
  link.rel = "noopener noreferrer";
  link.target = "_blank";
  caption.append(text, " ", link);
  figure.append(caption);
  return figure;
}
