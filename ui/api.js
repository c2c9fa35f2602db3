// Talks to rockpoold's API at this page's own prefix + "api/" (the page is at
// PREFIX/app/, so under Caddy's control server, under a nested host's route
// /workspace/NH/port/8080/app/, or straight from rockpoold). The token lives
// in this module only: never in storage or a cookie, so pages of workspaces
// served from the same origin cannot read it or ride on it (docs/user-guide.md,
// "The web UI").

export const group = "apis/rockpool.dev/v1alpha1";

export function apiBase(pathname) {
  const at = pathname.lastIndexOf("/app/");
  const prefix = at >= 0 ? pathname.slice(0, at + 1) : "/";
  return prefix + "api/";
}

let token = "";
const base = typeof location === "undefined" ? "/api/" : apiBase(location.pathname);

export function signIn(t) { token = t; }
export function signedIn() { return token !== ""; }

export class HttpError extends Error {
  constructor(status, body) {
    let message = `HTTP ${status}`;
    let details = null;
    try {
      const s = JSON.parse(body);
      if (s.message) message = s.message;
      details = s.details || null;
    } catch { /* not a Status */ }
    super(message);
    this.status = status;
    this.details = details;
  }
}

function headers(extra) {
  const h = { Accept: "application/json", ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

export async function request(method, path, body, contentType = "application/json") {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": contentType }),
                 credentials: "omit", cache: "no-store" };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const r = await fetch(base + path, init);
  const text = await r.text();
  if (!r.ok) throw new HttpError(r.status, text);
  return text ? JSON.parse(text) : null;
}

export const getJSON = (path) => request("GET", path);

// A watch stream: calls onEvent for every line; resolves when the server ends
// the stream, rejects on an HTTP error or a broken connection.
export async function stream(path, onEvent, signal) {
  const r = await fetch(base + path, { headers: headers(), credentials: "omit", cache: "no-store",
                                       signal });
  if (!r.ok) throw new HttpError(r.status, await r.text());
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) onEvent(JSON.parse(line));
    }
  }
}
