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

// `raw` ({ body, type }) sends a body as it is (an OPML file); `text` returns the answer's
// text instead of parsing JSON (an OPML export).
export async function request(method, path, { params, body, raw, text, token, signal } = {}) {
  const headers = { Accept: text ? "*/*" : "application/json" };
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
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server cannot be reached.");
  }
  if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
  if (response.status === 204) return null;
  const answer = await response.text();
  if (text) return answer;
  return answer ? JSON.parse(answer) : null;
}

export function streamUrl(categories) {
  return buildUrl("/api/stream", { category: categories });
}

export const getCategories = (opts) => request("GET", "/api/categories", opts);

// One of `before` (older, newest first) or `after` (newer, oldest first) at a time.
export function getArticles({ categories, before, after, limit = 50, q, signal } = {}) {
  return request("GET", "/api/articles", {
    params: { category: categories, before, after, limit, q },
    signal,
  });
}
