//! Typed access to the ccweb HTTP API: URLs relative to the document base
//! (so the app works under a reverse-proxy sub-path), JSON bodies, and
//! `{error:{code,message}}` answers turned into `ApiError`.

import type {
  AdminStatus,
  AdminUser,
  AuditPage,
  AuthConfig,
  CreatedShare,
  CreatedToken,
  CreateSessionRequest,
  CreateTokenRequest,
  CreateUserRequest,
  CredentialKind,
  Credentials,
  EventsResponse,
  FsDirsResponse,
  HistoryResponse,
  LoginResponse,
  MeResponse,
  PasswordChanged,
  PasswordChangeRequest,
  Preferences,
  SessionInfo,
  SessionsResponse,
  SharesResponse,
  TokensResponse,
  UpdateUserRequest,
  UsersResponse,
} from './types';

/** A failed request: the HTTP status and the server's error code and text. */
export class ApiError extends Error {
  /** HTTP status (0 when the server could not be reached). */
  readonly status: number;
  /** The server's snake_case code, or `network_error` / `bad_response`. */
  readonly code: string;
  /** Seconds from a `Retry-After` header (429, 503), when present. */
  readonly retryAfterSecs: number | null;

  constructor(status: number, code: string, message: string, retryAfterSecs: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterSecs = retryAfterSecs;
  }
}

/** The document's base URL; a function so tests can run without a DOM base. */
function documentBase(): string {
  return typeof document !== 'undefined' ? document.baseURI : 'http://localhost/';
}

/**
 * The absolute URL of an API path such as `api/me`, resolved against the
 * document base. A leading `/` is dropped on purpose: under a sub-path
 * (`https://host/ccweb/`) the API lives at `https://host/ccweb/api/…`.
 */
export function apiUrl(path: string, base: string = documentBase()): string {
  return new URL(path.replace(/^\/+/, ''), base).toString();
}

/** The `ws:`/`wss:` URL of a WebSocket path, resolved like `apiUrl`. */
export function wsUrl(path: string, base: string = documentBase()): string {
  const url = new URL(apiUrl(path, base));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  return url.toString();
}

/** Parses a `Retry-After` header: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Turns a failed response into an `ApiError`, reading the JSON error body when there is one. */
export async function errorFromResponse(resp: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(resp.headers.get('Retry-After'));
  let code = `http_${resp.status}`;
  let message = resp.statusText || `request failed (${resp.status})`;
  try {
    const body: unknown = await resp.json();
    const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (err && typeof err.code === 'string') code = err.code;
    if (err && typeof err.message === 'string') message = err.message;
  } catch {
    // Not JSON (e.g. a proxy's HTML error page): keep the status text.
  }
  return new ApiError(resp.status, code, message, retryAfter);
}

/** Called when any request answers 401, so the shell can show the login page. */
let unauthorizedListener: (() => void) | null = null;

/** Registers the 401 listener (one; the app shell). */
export function onUnauthorized(listener: (() => void) | null): void {
  unauthorizedListener = listener;
}

/** The CSRF token of the current login, sent as `X-CSRF-Token` besides the browser's `Origin`. */
const CSRF_STORAGE_KEY = 'ccweb.csrf';

function csrfToken(): string | null {
  try {
    return sessionStorage.getItem(CSRF_STORAGE_KEY);
  } catch {
    return null;
  }
}

function setCsrfToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(CSRF_STORAGE_KEY, token);
    else sessionStorage.removeItem(CSRF_STORAGE_KEY);
  } catch {
    // Storage disabled: the Origin header alone authorizes our requests.
  }
}

/** Options of one request. */
interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Do not tell the shell about a 401 (the login calls expect it). */
  quiet401?: boolean;
}

/** Builds `path?query`, skipping empty values. */
export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** One JSON request; resolves with the parsed body (undefined for 204). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = csrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  let resp: Response;
  try {
    resp = await fetch(apiUrl(withQuery(path, opts.query)), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'The server cannot be reached. Check your connection.');
  }
  if (!resp.ok) {
    const err = await errorFromResponse(resp);
    if (resp.status === 401 && !opts.quiet401) unauthorizedListener?.();
    throw err;
  }
  if (resp.status === 204) return undefined as T;
  try {
    return (await resp.json()) as T;
  } catch {
    throw new ApiError(resp.status, 'bad_response', 'The server sent an answer that is not JSON.');
  }
}

/** Path of a session's resources. */
function sessionPath(id: string, rest = ''): string {
  return `${sessionApiPath(id)}${rest}`;
}

/** The API path of a session (its events, terminal and chat sockets live below it). */
export function sessionApiPath(id: string): string {
  return `api/claude/sessions/${encodeURIComponent(id)}`;
}

/** The API path of a session seen through a share link: the same resources, read-only. */
export function sharedApiPath(token: string): string {
  return `api/shared/${encodeURIComponent(token)}`;
}

/** Filters of `GET api/admin/audit` (empty values are left out). */
export interface AuditQuery {
  user?: string;
  action?: string;
  outcome?: string;
  since?: string;
  until?: string;
  before?: number | null;
  limit?: number;
}

/** The API, one function per endpoint the UI uses. */
export const api = {
  me: () => request<MeResponse>('GET', 'api/me', { quiet401: true }),

  changePassword: (req: PasswordChangeRequest) => request<PasswordChanged>('POST', 'api/me/password', { body: req }),

  setPreferences: (change: Partial<Preferences>) => request<Preferences>('PUT', 'api/me/preferences', { body: change }),
  /** The caller's own Claude credentials: set or not, and their hints. */
  credentials: (signal?: AbortSignal) => request<Credentials>('GET', 'api/me/credentials', { signal }),
  /** Stores (or replaces) one of the caller's own Claude credentials. */
  setCredential: (kind: CredentialKind, value: string) => request<Credentials>('PUT', 'api/me/credentials', { body: { [kind]: value } }),
  /** Forgets one of the caller's own Claude credentials. */
  deleteCredential: (kind: CredentialKind) => request<void>('DELETE', `api/me/credentials/${encodeURIComponent(kind)}`),

  authConfig: () => request<AuthConfig>('GET', 'api/auth/config', { quiet401: true }),

  async login(username: string, password: string): Promise<LoginResponse> {
    const resp = await request<LoginResponse>('POST', 'api/auth/login', {
      body: { username, password },
      quiet401: true,
    });
    setCsrfToken(resp.csrf_token);
    return resp;
  },

  async tokenLogin(token: string): Promise<LoginResponse> {
    const resp = await request<LoginResponse>('POST', 'api/auth/token', { body: { token }, quiet401: true });
    setCsrfToken(resp.csrf_token);
    return resp;
  },

  async logout(): Promise<void> {
    try {
      await request<void>('POST', 'api/auth/logout', { quiet401: true });
    } finally {
      setCsrfToken(null);
    }
  },

  listSessions: (signal?: AbortSignal) =>
    request<SessionsResponse>('GET', 'api/claude/sessions', { signal }).then((r) => r.sessions),

  /** Everyone's sessions (admins; `all=true`), and/or only those matching `q` (title, first prompt, directory, conversation). */
  searchSessions: (opts: { all?: boolean; q?: string }, signal?: AbortSignal) =>
    request<SessionsResponse>('GET', 'api/claude/sessions', {
      query: { ...(opts.all ? { all: 'true' } : {}), ...(opts.q ? { q: opts.q } : {}) },
      signal,
    }).then((r) => r.sessions),

  getSession: (id: string, signal?: AbortSignal) => request<SessionInfo>('GET', sessionPath(id), { signal }),

  createSession: (req: CreateSessionRequest) => request<SessionInfo>('POST', 'api/claude/sessions', { body: req }),

  renameSession: (id: string, title: string) => request<SessionInfo>('PATCH', sessionPath(id), { body: { title } }),

  stopSession: (id: string) => request<SessionInfo>('DELETE', sessionPath(id)),

  deleteSession: (id: string) => request<void>('DELETE', sessionPath(id), { query: { purge: true } }),

  resumeSession: (id: string) => request<SessionInfo>('POST', sessionPath(id, '/resume')),

  events: (id: string, after: number, limit = 1000, signal?: AbortSignal) =>
    request<EventsResponse>('GET', sessionPath(id, '/events'), { query: { after, limit }, signal }),

  /** Events below any session API path (`sessionApiPath` or `sharedApiPath`). */
  eventsAt: (apiPath: string, after: number, limit = 1000, signal?: AbortSignal) =>
    request<EventsResponse>('GET', `${apiPath}/events`, { query: { after, limit }, signal }),

  history: (workingDir: string, signal?: AbortSignal) =>
    request<HistoryResponse>('GET', 'api/claude/history', { query: { working_dir: workingDir }, signal }),

  dirs: (path: string | null, signal?: AbortSignal) =>
    request<FsDirsResponse>('GET', 'api/fs/dirs', { query: { path }, signal }),

  /** Ends every login session of the caller (all browsers). */
  logoutAll: async (): Promise<{ ended: number }> => {
    try {
      return await request<{ ended: number }>('POST', 'api/auth/logout-all');
    } finally {
      setCsrfToken(null);
    }
  },

  listTokens: (signal?: AbortSignal) => request<TokensResponse>('GET', 'api/tokens', { signal }).then((r) => r.tokens),

  createToken: (req: CreateTokenRequest) => request<CreatedToken>('POST', 'api/tokens', { body: req }),

  revokeToken: (id: string | number) => request<void>('DELETE', `api/tokens/${encodeURIComponent(String(id))}`),

  adminStatus: (signal?: AbortSignal) => request<AdminStatus>('GET', 'api/admin/status', { signal }),
  listUsers: (signal?: AbortSignal) => request<UsersResponse>('GET', 'api/admin/users', { signal }).then((r) => r.users),

  createUser: (req: CreateUserRequest) =>
    request<{ user: AdminUser }>('POST', 'api/admin/users', { body: req }).then((r) => r.user),

  updateUser: (name: string, req: UpdateUserRequest) =>
    request<{ user: AdminUser }>('PATCH', `api/admin/users/${encodeURIComponent(name)}`, { body: req }).then((r) => r.user),

  resetPassword: (name: string, newPassword: string) =>
    request<{ user: AdminUser; ended: number }>('POST', `api/admin/users/${encodeURIComponent(name)}/password`, { body: { new_password: newPassword } }),

  audit: (query: AuditQuery, signal?: AbortSignal) =>
    request<AuditPage>('GET', 'api/admin/audit', { query: { ...query }, signal }),

  listShares: (id: string, signal?: AbortSignal) =>
    request<SharesResponse>('GET', sessionPath(id, '/shares'), { signal }).then((r) => r.shares),

  createShare: (id: string, expiresInSecs?: number) =>
    request<CreatedShare>('POST', sessionPath(id, '/shares'), {
      body: expiresInSecs ? { expires_in_secs: expiresInSecs } : {},
    }),

  revokeShare: (id: string, shareId: string | number) =>
    request<void>('DELETE', sessionPath(id, `/shares/${encodeURIComponent(String(shareId))}`)),

  /** The session behind a share link (404 when unknown, revoked or expired). */
  getShared: (token: string, signal?: AbortSignal) => request<SessionInfo>('GET', sharedApiPath(token), { signal }),
};

/** The download link of a session's export. */
export function exportUrl(id: string, format: 'markdown' | 'json' | 'asciicast' = 'markdown'): string {
  return apiUrl(withQuery(sessionPath(id, '/export'), { format }));
}

/** The terminal socket URL of a session. */
export function terminalSocketUrl(id: string, readonly: boolean, base?: string): string {
  return terminalSocketUrlAt(sessionApiPath(id), readonly, base);
}

/** The terminal socket URL below a session API path (`sessionApiPath` or `sharedApiPath`). */
export function terminalSocketUrlAt(apiPath: string, readonly: boolean, base?: string): string {
  return wsUrl(withQuery(`${apiPath}/terminal`, { readonly: readonly ? 1 : undefined }), base);
}

/** Human text for an error caught anywhere in the UI. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
