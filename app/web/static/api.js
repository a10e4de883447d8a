// The public API from the browser: bearer tokens (kept per page), problem+json errors, the
// reader's language for texts and error titles, and a refresh when an access token expires.

export function language() {
  return localStorage.getItem("shopnear.lang") || (navigator.language.startsWith("zh") ? "zh-CN" : "en");
}

export class Session {
  constructor(name) { this.key = `shopnear.${name}`; }
  get tokens() { return JSON.parse(localStorage.getItem(this.key) || "null"); }
  set tokens(value) {
    if (value) localStorage.setItem(this.key, JSON.stringify(value));
    else localStorage.removeItem(this.key);
  }
  get signedIn() { return Boolean(this.tokens); }

  async login(email, password) {
    this.tokens = await request("POST", "/v1/auth/login", { body: { email, password } });
  }

  async logout() {
    const tokens = this.tokens;
    this.tokens = null;
    if (tokens) await request("POST", "/v1/auth/logout", { body: { refresh_token: tokens.refresh_token } }).catch(() => {});
  }

  async call(method, path, options = {}) {
    const auth = () => (this.tokens ? { Authorization: `Bearer ${this.tokens.access_token}` } : {});
    try {
      return await request(method, path, { ...options, headers: { ...auth(), ...options.headers } });
    } catch (error) {
      if (error.status !== 401 || !this.tokens) throw error;
      try {
        this.tokens = await request("POST", "/v1/auth/refresh", { body: { refresh_token: this.tokens.refresh_token } });
      } catch {
        this.tokens = null;
        throw error;
      }
      return request(method, path, { ...options, headers: { ...auth(), ...options.headers } });
    }
  }
}

export class Problem extends Error {
  constructor(status, body) {
    super(body && (body.detail || body.title) ? body.detail || body.title : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function request(method, path, { body, query, headers = {}, accept } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const sent = { "Accept-Language": language(), ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Problem(response.status, typeof data === "object" ? data : null);
  return data;
}

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
