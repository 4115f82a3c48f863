//! Wire types of the ccweb HTTP API (docs/api.md), mirrored by hand from
//! crates/ccweb-protocol. Keep field names exactly as the server spells them.

/** How the CLI is run and shown. */
export type SessionMode = 'terminal' | 'chat';

/** Lifecycle of a session's process. */
export type SessionState = 'starting' | 'running' | 'exited' | 'stopped' | 'failed';

/** Why a process ended. */
export type EndReason = 'exit' | 'stop' | 'idle' | 'max_age' | 'memory_limit' | 'shutdown' | 'server_restart' | 'error';

/** Permission modes the CLI accepts at start (`permission_mode`). */
export const PERMISSION_MODES = [
  'default',
  'acceptEdits',
  'plan',
  'bypassPermissions',
  'dontAsk',
  'auto',
] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];

/** Model usage summed over a session's turns. */
export interface Usage {
  /** Cost reported by the CLI, in US dollars. */
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
}

/** The session object (docs/api.md, "Sessions"). */
export interface SessionInfo {
  id: string;
  owner: string;
  mode: SessionMode;
  state: SessionState;
  /** Canonical working directory of the CLI. */
  working_dir: string;
  title: string;
  /** RFC 3339. */
  created_at: string;
  /** RFC 3339: last input, output, attach or detach. */
  last_activity_at: string;
  ended_at: string | null;
  /** The process's code, or 128 + signal number. */
  exit_code: number | null;
  end_reason: EndReason | string | null;
  claude_session_id: string | null;
  model: string | null;
  permission_mode: string;
  cols: number;
  rows: number;
  /** Attached viewers right now. */
  viewers: number;
  /** A chat session has a permission request or question waiting. */
  needs_attention: boolean;
  usage: Usage;
  /** What the session does now (terminal sessions are never `needs_answer` yet). */
  activity: SessionActivity;
  /** The conversation's first prompt (slash commands do not count). */
  first_prompt: string | null;
  /** The last user or assistant message, one line. */
  preview: SessionPreview | null;
  /** The git top-level of `working_dir`, else `working_dir`: what the list groups by. */
  project: string;
}

/** `SessionInfo.activity`. */
export type SessionActivity = 'working' | 'waiting' | 'needs_answer' | 'ended';

/** `SessionInfo.preview`. */
export interface SessionPreview {
  role: 'user' | 'assistant';
  text: string;
}

/** A ccweb user as `GET api/me` reports it. */
export interface User {
  id: string | number;
  name: string;
  is_admin: boolean;
  /** Whether a password is set (the first admin, logged in by the one-time link, has none). */
  has_password: boolean;
}

/** The web UI's colour theme: follow the system, or always light or dark. */
export type Theme = 'system' | 'light' | 'dark';

/** A user's preferences, kept on the server (`api/me/preferences`). */
export interface Preferences {
  theme: Theme;
}

/** What the server lets its users choose (`server` of `GET api/me`). */
export interface ServerPolicy {
  /** The permission mode `bypassPermissions` may be chosen. */
  allow_bypass_permissions: boolean;
  /** Whether users may (`optional`), must (`required`) or cannot (`disabled`) store their own Claude credential. */
  user_credentials?: CredentialPolicy;
}

/** Config `user_credentials`: whose Claude credential sessions use. */
export type CredentialPolicy = 'optional' | 'required' | 'disabled';

/** The kinds of Claude credential a user can store. */
export type CredentialKind = 'anthropic_api_key' | 'claude_oauth_token';

/** One kind of the caller's credentials: set or not, and its last characters (never the value). */
export type CredentialState = { set: true; hint: string; updated_at: string } | { set: false };

/** `GET api/me/credentials`. */
export type Credentials = Record<CredentialKind, CredentialState>;

/** `GET api/me`. */
export interface MeResponse {
  user: User;
  /** Null only when `api/me` could not be read after a login: offer nothing the server may refuse. */
  server: ServerPolicy | null;
  /** Whether `POST api/me/password` may set or change the caller's password. */
  can_set_password: boolean;
  preferences: Preferences;
}

/** Body of `POST api/me/password`. */
export interface PasswordChangeRequest {
  /** Required when a password is set. */
  current_password?: string;
  new_password: string;
}

/** `POST api/me/password`: the caller, and how many of their other logins ended. */
export interface PasswordChanged {
  user: User;
  ended: number;
}

/** `POST api/auth/login` and `POST api/auth/token`. */
export interface LoginResponse {
  user: User;
  csrf_token: string;
}

/** `GET api/claude/sessions`. */
export interface SessionsResponse {
  sessions: SessionInfo[];
}

/** Body of `POST api/claude/sessions`. */
export interface CreateSessionRequest {
  mode: SessionMode;
  working_dir: string;
  title?: string;
  model?: string;
  permission_mode?: PermissionMode;
  /** A Claude session id (UUID) to continue. */
  resume?: string;
  cols?: number;
  rows?: number;
}

/** One conversation the CLI saved on disk (`GET api/claude/history`). */
export interface HistoryConversation {
  session_id: string;
  title: string | null;
  first_prompt: string | null;
  cwd: string | null;
  git_branch: string | null;
  created_at: string | null;
  last_modified: string | null;
  file_size: number;
  entrypoint: string | null;
  messages: number;
}

/** `GET api/claude/history?working_dir=DIR`. */
export interface HistoryResponse {
  working_dir: string;
  conversations: HistoryConversation[];
}

/** One entry of `GET api/fs/dirs`. */
export interface DirEntry {
  name: string;
  path: string;
}

/** `GET api/fs/dirs?path=DIR`. */
export interface FsDirsResponse {
  path: string;
  parent: string | null;
  roots: string[];
  dirs: DirEntry[];
}

/** A content block of an assistant message, as the Messages API sends it. */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: string; [key: string]: unknown };

/**
 * A transcript event (`event.kind`). Only the fields the shell renders are
 * typed closely; the chat view has its own full model.
 */
export type ChatEvent =
  | { kind: 'user_message'; text: string; images?: string[]; by?: string }
  | {
      kind: 'assistant_message';
      message_id: string;
      model?: string;
      content: ContentBlock[];
      parent_tool_use_id?: string;
      error?: string;
    }
  | { kind: 'result'; subtype: string; is_error: boolean; result?: string; cost_usd: number }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'system'; subtype: string; [key: string]: unknown }
  | {
      kind:
        | 'assistant_delta'
        | 'tool_result'
        | 'permission_request'
        | 'permission_resolved'
        | 'state';
      [key: string]: unknown;
    };

/** A stored event with its place in the transcript. */
export interface StoredEvent {
  seq: number;
  at: string;
  event: ChatEvent;
}

/** `GET api/claude/sessions/{id}/events`. */
export interface EventsResponse {
  events: StoredEvent[];
  last_seq: number;
}

/** The error body every failed request carries. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Whether a process may be alive in this state. */
export function isLive(state: SessionState): boolean {
  return state === 'starting' || state === 'running';
}

/** `GET /api/auth/config`: the login methods the server offers. */
export interface AuthConfig {
  password: boolean;
  /** Whether `ccweb serve` printed a one-time login link (auth mode `token`). */
  login_link: boolean;
  /** OpenID Connect: `label` and `path` (relative to the document base) when enabled. */
  oidc: { enabled: boolean; label?: string; path?: string };
}

/** What an API token may do: `read` only GETs and watches. */
export type TokenScope = 'read' | 'full';

/** An API token as `GET api/tokens` lists it (never its secret). */
export interface ApiToken {
  id: string | number;
  name: string;
  scope: TokenScope;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** `GET api/tokens`. */
export interface TokensResponse {
  tokens: ApiToken[];
}

/** Body of `POST api/tokens`. */
export interface CreateTokenRequest {
  name: string;
  scope: TokenScope;
  expires_in_secs?: number;
}

/** `POST api/tokens` → 201: the token and its secret, shown this once. */
export interface CreatedToken {
  token: ApiToken;
  secret: string;
}

/** `GET api/admin/status`. */
export interface AdminStatus {
  version: string;
  live_sessions: number;
  tasks: number;
  /** How a session's processes are kept together: `cgroup-v2` or `process-tree`. */
  containment: string;
  /** One line per configured session limit: how it is enforced, or `… NOT enforced (reason)`. */
  session_limits: string[];
  /** Whose Unix account sessions run as; with `none` and `allow_shared_identity`, several users share one. */
  isolation?: { mode: 'none' | 'unix'; allow_shared_identity: boolean };
  /** The `user_credentials` policy. */
  user_credentials?: CredentialPolicy;
}

/** A user as the admin endpoints report it. */
export interface AdminUser {
  id: string | number;
  name: string;
  is_admin: boolean;
  disabled: boolean;
  has_password: boolean;
  created_at: string;
  /** Sessions of this user starting or running now. */
  running_sessions: number;
}

/** `GET api/admin/users`. */
export interface UsersResponse {
  users: AdminUser[];
}

/** Body of `POST api/admin/users`. */
export interface CreateUserRequest {
  name: string;
  password?: string;
  is_admin?: boolean;
}

/** Body of `PATCH api/admin/users/{name}`. */
export interface UpdateUserRequest {
  disabled?: boolean;
  is_admin?: boolean;
  password?: string;
}

/** Outcomes an audit entry can have. */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied', 'limited'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One audit log entry. */
export interface AuditEntry {
  id: number;
  at: string;
  user_id: string | number | null;
  user_name: string | null;
  /** Where it came from: a client address, `cli`, … */
  source: string | null;
  action: string;
  outcome: AuditOutcome | string;
  target: string | null;
  detail: unknown;
}

/** `GET api/admin/audit`: newest first; `next_before` continues. */
export interface AuditPage {
  entries: AuditEntry[];
  next_before: number | null;
}

/** A read-only share link of a session (its token is known only at creation). */
export interface Share {
  id: string | number;
  session_id: string;
  /** Who made it (the owner). */
  created_by?: string | number;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** `GET api/claude/sessions/{id}/shares`. */
export interface SharesResponse {
  shares: Share[];
}

/** `POST api/claude/sessions/{id}/shares` → 201. */
export interface CreatedShare {
  share: Share;
  token: string;
  /** The app route, `#/share/<token>`, relative to the app's address. */
  path: string;
}
