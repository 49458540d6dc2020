// Only http(s) URLs become links, images or players: feeds can carry anything.

export function safeHttpUrl(raw) {
  if (!raw) return null;
  try {
    const url = new URL(raw, location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}
