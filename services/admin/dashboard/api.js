// The admin API client: the token (kept in sessionStorage, asked for once,
// asked again on a 401) and JSON requests with the Authorization header.

const TOKEN_KEY = 'refract.adminToken';

export class Unauthorized extends Error {
  constructor() {
    super('the admin token was refused');
    this.name = 'Unauthorized';
  }
}

/** An error answer of the API, carrying its `{ error, message }` body. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `the admin API answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

export function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // A browser refusing storage still works for this page's lifetime.
  }
}

export function forgetToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // See saveToken.
  }
}

export function authHeaders(token) {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * One request to the admin API. Resolves to the parsed JSON body (or null),
 * rejects with Unauthorized on 401/403 and ApiError on other error statuses.
 */
export async function request(method, path, token) {
  const response = await fetch(path, {
    method,
    headers: { accept: 'application/json', ...authHeaders(token) },
    cache: 'no-store',
  });
  if (response.status === 401 || response.status === 403) throw new Unauthorized();
  const text = await response.text();
  let body = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { message: text.slice(0, 200) };
    }
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export const paths = {
  projections: '/api/projections',
  workers: '/api/workers',
  relay: '/api/relay',
  stream: '/api/stream',
  history: '/api/history',
  rebuilds: '/api/rebuilds?limit=10',
  job: (jobId) => `/api/jobs/${encodeURIComponent(jobId)}`,
  action: (name, action) => `/api/projections/${encodeURIComponent(name)}/${action}`,
};
