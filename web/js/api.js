// Thin wrappers over the feedhub HTTP API (DESIGN.md, "HTTP API").
// Every error the server sends is JSON with a human-readable `detail`; ApiError carries it.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

function buildUrl(path, params = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      url.searchParams.append(name, String(item));
    }
  }
  return url.pathname + url.search;
}

async function errorDetail(response) {
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") return body.detail;
    if (body && body.detail) return JSON.stringify(body.detail);
  } catch {
    // Not JSON (a proxy's error page, for instance): fall back to the status line.
  }
  return `${response.status} ${response.statusText || "error"}`.trim();
}

// Extra headers for state-changing requests (the CSRF token once signed in): set by session.js.
const sticky = {};
export function setStickyHeader(name, value) {
  if (value) sticky[name] = value;
  else delete sticky[name];
}

export async function request(method, path, options = {}) {
  return (await requestWithHeaders(method, path, options)).body;
}

// Like request(), but also returns the response headers (the list's X-Next-Cursor).
// `raw` ({ body, type }) sends a body as it is (an OPML file); `text` returns the answer's
// text instead of parsing JSON (an OPML export).
export async function requestWithHeaders(method, path, { params, body, raw, text, token, signal } = {}) {
  const headers = { Accept: text ? "*/*" : "application/json" };
  if (method !== "GET" && method !== "HEAD") Object.assign(headers, sticky);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (raw) headers["Content-Type"] = raw.type;
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(buildUrl(path, params), {
      method,
      headers,
      body: raw ? raw.body : body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server cannot be reached.");
  }
  if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
  if (response.status === 204) return { body: null, headers: response.headers };
  const answer = await response.text();
  if (text) return { body: answer, headers: response.headers };
  return { body: answer ? JSON.parse(answer) : null, headers: response.headers };
}

export function streamUrl(categories) {
  return buildUrl("/api/stream", { category: categories });
}

export const getCategories = (opts) => request("GET", "/api/categories", opts);
export const getFeeds = (opts) => request("GET", "/api/feeds", opts);

// One of `before` (older, newest first) or `after` (newer, oldest first) at a time.
export function getArticles({ categories, feed, before, after, limit = 50, q, signal } = {}) {
  return request("GET", "/api/articles", {
    params: { category: categories, feed, before, after, limit, q },
    signal,
  });
}

// Newest publication first, paged by the server's opaque cursor. Returns
// { articles, next } where `next` is the cursor of the following page, or null.
export async function listArticles({ categories, feed, cursor, limit = 50, signal } = {}) {
  const { body, headers } = await requestWithHeaders("GET", "/api/articles", {
    params: { category: categories, feed, order: "published", cursor, limit },
    signal,
  });
  return { articles: body, next: headers.get("X-Next-Cursor") };
}

export const getArticle = (id, opts) => request("GET", `/api/articles/${encodeURIComponent(id)}`, opts);
