// Wire types of the chat WebSocket of a chat session (docs/api.md,
// "Chat WebSocket of a chat session"; crates/ccweb-protocol/src/chat.rs),
// and a validating parser that never throws.

/** Model usage summed over a session's turns. */
export interface Usage {
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
}

/**
 * The session object (docs/api.md). Only `id` is required here so that the
 * shell's own, richer type is always assignable to it.
 */
export interface SessionInfo {
  id: string;
  owner?: string;
  mode?: string;
  state?: string;
  working_dir?: string;
  title?: string;
  model?: string | null;
  permission_mode?: string;
  needs_attention?: boolean;
  exit_code?: number | null;
  end_reason?: string | null;
  usage?: Usage;
}

export type DeltaType = 'text' | 'thinking' | 'input_json';
export type PromptKind = 'tool' | 'question' | 'plan';
export type Resolution = 'allow' | 'deny' | 'timeout' | 'cancelled';

export interface SystemEvent {
  kind: 'system';
  subtype: string;
  model?: string;
  cwd?: string;
  tools: string[];
  slash_commands: string[];
  permission_mode?: string;
  claude_session_id?: string;
  data: unknown;
}

export interface UserMessageEvent {
  kind: 'user_message';
  text: string;
  images: string[];
  by?: string;
}

export interface AssistantDeltaEvent {
  kind: 'assistant_delta';
  message_id?: string;
  index: number;
  delta_type: DeltaType;
  text: string;
}

/** A content block of an assistant message as the API sent it. */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'redacted_thinking' }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'other'; raw: unknown };

export interface AssistantMessageEvent {
  kind: 'assistant_message';
  message_id: string;
  model?: string;
  content: ContentBlock[];
  parent_tool_use_id?: string;
  error?: string;
}

export interface ToolResultEvent {
  kind: 'tool_result';
  tool_use_id: string;
  content: unknown;
  is_error: boolean;
  structured: unknown;
}

export interface PermissionRequestEvent {
  kind: 'permission_request';
  request_id: string;
  tool_name: string;
  input: Record<string, unknown>;
  suggestions: unknown[];
  tool_use_id?: string;
  description?: string;
  decision_reason?: string;
  prompt_kind: PromptKind;
  /** Edit / MultiEdit: the file's line where each edit starts (null: unknown). */
  edit_lines: (number | null)[];
}

export interface PermissionResolvedEvent {
  kind: 'permission_resolved';
  request_id: string;
  resolution: Resolution;
  by?: string;
  message?: string;
  remember: boolean;
}

export interface ResultEvent {
  kind: 'result';
  subtype: string;
  is_error: boolean;
  result?: string;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  duration_ms: number;
  num_turns: number;
  errors: string[];
  api_error_status?: number;
  /** The CLI's `terminal_reason`: `completed`, `aborted_streaming`, `aborted_tools`, … */
  terminal_reason?: string;
}

export interface StateEvent {
  kind: 'state';
  state: string;
  needs_attention: boolean;
  exit_code?: number;
  detail?: string;
}

export interface ErrorEvent {
  kind: 'error';
  code: string;
  message: string;
  line?: string;
}

/** An event this client does not understand (new kind, or malformed). Kept, never dropped. */
export interface UnknownEvent {
  kind: 'unknown';
  /** The `kind` it had on the wire, if any. */
  original_kind: string;
  /** Why it was not understood. */
  reason: string;
  raw: unknown;
}

export type ChatEvent =
  | SystemEvent
  | UserMessageEvent
  | AssistantDeltaEvent
  | AssistantMessageEvent
  | ToolResultEvent
  | PermissionRequestEvent
  | PermissionResolvedEvent
  | ResultEvent
  | StateEvent
  | ErrorEvent
  | UnknownEvent;

export interface ConnectedMsg {
  type: 'connected';
  session: SessionInfo;
  last_seq: number;
}
export interface EventMsg {
  type: 'event';
  seq: number;
  at: string;
  event: ChatEvent;
}
export interface ServerErrorMsg {
  type: 'error';
  code: string;
  message: string;
}
export interface PongMsg {
  type: 'pong';
}
/** A server message of an unknown type (or a malformed one). */
export interface UnknownServerMsg {
  type: 'unknown';
  reason: string;
  raw: unknown;
}
export type ServerMessage = ConnectedMsg | EventMsg | ServerErrorMsg | PongMsg | UnknownServerMsg;

// ---------------------------------------------------------------- client

export interface ImageInput {
  media_type: string;
  /** Base64, without a `data:` prefix. */
  data: string;
}

export type ClientMessage =
  | { type: 'user_message'; text: string; images?: ImageInput[] }
  | {
      type: 'permission_response';
      request_id: string;
      behavior: 'allow' | 'deny';
      updated_input?: Record<string, unknown>;
      message?: string;
      remember?: boolean;
    }
  | { type: 'interrupt' }
  | { type: 'set_permission_mode'; mode: string }
  | { type: 'set_model'; model?: string }
  | { type: 'ping' };

export const PERMISSION_MODES = ['default', 'acceptEdits', 'plan', 'bypassPermissions', 'dontAsk', 'auto'] as const;
/** Modes that run tools without a person approving; the server allows them only with `allow_bypass_permissions`. */
export const UNATTENDED_PERMISSION_MODES: readonly string[] = ['bypassPermissions', 'auto'];
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

// ---------------------------------------------------------------- parsing

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function optStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown, dflt = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}
function optNum(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

class Invalid extends Error {}

function reqStr(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Invalid(`field "${key}" must be a string`);
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Invalid(`field "${key}" must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}

/** Normalises one content block of an assistant message. */
export function parseContentBlock(b: unknown): ContentBlock {
  if (!isObj(b)) return { type: 'other', raw: b };
  switch (b.type) {
    case 'text':
      if (typeof b.text === 'string') return { type: 'text', text: b.text };
      break;
    case 'thinking':
      if (typeof b.thinking === 'string') return { type: 'thinking', thinking: b.thinking };
      break;
    case 'redacted_thinking':
      return { type: 'redacted_thinking' };
    case 'tool_use':
      if (typeof b.id === 'string' && typeof b.name === 'string') {
        return { type: 'tool_use', id: b.id, name: b.name, input: isObj(b.input) ? b.input : {} };
      }
      break;
  }
  return { type: 'other', raw: b };
}

function parseEventStrict(e: Obj): ChatEvent {
  switch (e.kind) {
    case 'system':
      return {
        kind: 'system',
        subtype: reqStr(e, 'subtype'),
        model: optStr(e.model),
        cwd: optStr(e.cwd),
        tools: strList(e.tools),
        slash_commands: strList(e.slash_commands),
        permission_mode: optStr(e.permission_mode),
        claude_session_id: optStr(e.claude_session_id),
        data: e.data ?? null,
      };
    case 'user_message':
      return { kind: 'user_message', text: reqStr(e, 'text'), images: strList(e.images), by: optStr(e.by) };
    case 'assistant_delta':
      return {
        kind: 'assistant_delta',
        message_id: optStr(e.message_id),
        index: num(e.index),
        delta_type: oneOf(e, 'delta_type', ['text', 'thinking', 'input_json'] as const),
        text: reqStr(e, 'text'),
      };
    case 'assistant_message': {
      if (!Array.isArray(e.content)) throw new Invalid('field "content" must be an array');
      return {
        kind: 'assistant_message',
        message_id: reqStr(e, 'message_id'),
        model: optStr(e.model),
        content: e.content.map(parseContentBlock),
        parent_tool_use_id: optStr(e.parent_tool_use_id),
        error: optStr(e.error),
      };
    }
    case 'tool_result':
      return {
        kind: 'tool_result',
        tool_use_id: reqStr(e, 'tool_use_id'),
        content: e.content ?? null,
        is_error: e.is_error === true,
        structured: e.structured ?? null,
      };
    case 'permission_request':
      return {
        kind: 'permission_request',
        request_id: reqStr(e, 'request_id'),
        tool_name: reqStr(e, 'tool_name'),
        input: isObj(e.input) ? e.input : {},
        suggestions: Array.isArray(e.suggestions) ? e.suggestions : [],
        tool_use_id: optStr(e.tool_use_id),
        description: optStr(e.description),
        decision_reason: optStr(e.decision_reason),
        // A prompt kind from a newer server is shown as a plain tool prompt.
        prompt_kind:
          e.prompt_kind === 'question' || e.prompt_kind === 'plan' ? e.prompt_kind : 'tool',
        edit_lines: Array.isArray(e.edit_lines)
          ? e.edit_lines.map((n) => (typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : null))
          : [],
      };
    case 'permission_resolved':
      return {
        kind: 'permission_resolved',
        request_id: reqStr(e, 'request_id'),
        resolution: oneOf(e, 'resolution', ['allow', 'deny', 'timeout', 'cancelled'] as const),
        by: optStr(e.by),
        message: optStr(e.message),
        remember: e.remember === true,
      };
    case 'result':
      return {
        kind: 'result',
        subtype: optStr(e.subtype) ?? 'unknown',
        is_error: e.is_error === true,
        result: optStr(e.result),
        cost_usd: num(e.cost_usd),
        input_tokens: num(e.input_tokens),
        output_tokens: num(e.output_tokens),
        duration_ms: num(e.duration_ms),
        num_turns: num(e.num_turns),
        errors: strList(e.errors),
        api_error_status: optNum(e.api_error_status),
        terminal_reason: optStr(e.terminal_reason),
      };
    case 'state':
      return {
        kind: 'state',
        state: reqStr(e, 'state'),
        needs_attention: e.needs_attention === true,
        exit_code: optNum(e.exit_code),
        detail: optStr(e.detail),
      };
    case 'error':
      return { kind: 'error', code: reqStr(e, 'code'), message: optStr(e.message) ?? '', line: optStr(e.line) };
    default:
      throw new Invalid(`unknown event kind ${JSON.stringify(e.kind)}`);
  }
}

/** Validates one `event` object; anything not understood becomes an `unknown` event. */
export function parseEvent(raw: unknown): ChatEvent {
  if (!isObj(raw)) return { kind: 'unknown', original_kind: '', reason: 'event is not an object', raw };
  try {
    return parseEventStrict(raw);
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    return {
      kind: 'unknown',
      original_kind: typeof raw.kind === 'string' ? raw.kind : '',
      reason: err.message,
      raw,
    };
  }
}

function parseSession(v: unknown): SessionInfo | null {
  if (!isObj(v) || typeof v.id !== 'string') return null;
  return v as unknown as SessionInfo;
}

/** Parses one text frame from the server. Never throws. */
export function parseServerMessage(text: string): ServerMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { type: 'unknown', reason: 'not JSON', raw: text };
  }
  if (!isObj(raw)) return { type: 'unknown', reason: 'not a JSON object', raw };
  switch (raw.type) {
    case 'connected': {
      const session = parseSession(raw.session);
      if (!session) return { type: 'unknown', reason: 'connected without a session', raw };
      return { type: 'connected', session, last_seq: num(raw.last_seq) };
    }
    case 'event': {
      if (typeof raw.seq !== 'number' || !Number.isInteger(raw.seq)) {
        return { type: 'unknown', reason: 'event without an integer seq', raw };
      }
      return { type: 'event', seq: raw.seq, at: optStr(raw.at) ?? '', event: parseEvent(raw.event) };
    }
    case 'error':
      return {
        type: 'error',
        code: optStr(raw.code) ?? 'error',
        message: optStr(raw.message) ?? '',
      };
    case 'pong':
      return { type: 'pong' };
    default:
      return { type: 'unknown', reason: `unknown message type ${JSON.stringify(raw.type)}`, raw };
  }
}

/** One page of `GET /api/claude/sessions/{id}/events`. */
export function parseEventsPage(raw: unknown): { events: EventMsg[]; last_seq: number } | null {
  if (!isObj(raw) || !Array.isArray(raw.events)) return null;
  const events: EventMsg[] = [];
  for (const e of raw.events) {
    if (!isObj(e) || typeof e.seq !== 'number') continue;
    events.push({ type: 'event', seq: e.seq, at: optStr(e.at) ?? '', event: parseEvent(e.event) });
  }
  return { events, last_seq: num(raw.last_seq) };
}
