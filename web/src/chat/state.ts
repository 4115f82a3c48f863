// The chat transcript model: a pure reducer folding server messages into
// what the chat view shows. No I/O, no React.

import type {
  AssistantDeltaEvent,
  AssistantMessageEvent,
  ContentBlock,
  DeltaType,
  EventMsg,
  PermissionRequestEvent,
  PermissionResolvedEvent,
  ResultEvent,
  ServerMessage,
  SessionInfo,
  StateEvent,
  SystemEvent,
  ToolResultEvent,
  UnknownEvent,
} from './protocol';

export interface SlashCommand {
  name: string;
  description?: string;
  argumentHint?: string;
}

export interface ModelOption {
  value: string;
  label: string;
  description?: string;
}

/** Streamed, not yet complete content of one block of the message being written. */
export interface StreamPart {
  index: number;
  delta_type: DeltaType;
  text: string;
}

interface ItemBase {
  key: string;
  seq: number;
  at: string;
}

export interface UserItem extends ItemBase {
  type: 'user';
  text: string;
  images: string[];
  by?: string;
}

/** One bubble: every block of one API message, plus what is still streaming. */
export interface AssistantItem extends ItemBase {
  type: 'assistant';
  /** The API message id (`~seq` for a stream that never said its id). */
  messageId: string;
  model?: string;
  blocks: ContentBlock[];
  streaming: StreamPart[];
  parentToolUseId?: string;
  error?: string;
}

export interface SystemItem extends ItemBase {
  type: 'system';
  subtype: string;
  text: string;
  data: unknown;
}

export interface PermissionItem extends ItemBase {
  type: 'permission';
  requestId: string;
}

export interface ResultItem extends ItemBase {
  type: 'result';
  result: ResultEvent;
}

export interface ErrorItem extends ItemBase {
  type: 'error';
  code: string;
  message: string;
  line?: string;
}

/** The process ended. */
export interface EndedItem extends ItemBase {
  type: 'ended';
  state: string;
  exitCode?: number;
  detail?: string;
}

/** A tool result whose tool call is not in the transcript. */
export interface OrphanResultItem extends ItemBase {
  type: 'tool_result';
  toolUseId: string;
}

export interface UnknownItem extends ItemBase {
  type: 'unknown';
  event: UnknownEvent;
}

export type TranscriptItem =
  | UserItem
  | AssistantItem
  | SystemItem
  | PermissionItem
  | ResultItem
  | ErrorItem
  | EndedItem
  | OrphanResultItem
  | UnknownItem;

export type PermissionStatus = 'pending' | 'allow' | 'deny' | 'timeout' | 'cancelled';

export interface PermissionEntry {
  request: PermissionRequestEvent;
  seq: number;
  status: PermissionStatus;
  by?: string;
  message?: string;
  remember?: boolean;
}

export interface ToolResultEntry extends ToolResultEvent {
  seq: number;
}

export interface Totals {
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  turns: number;
}

export interface ChatState {
  /** Newest seq folded in; events at or below it are duplicates. */
  lastSeq: number;
  items: TranscriptItem[];
  /** message id → index in `items`. */
  assistantIndex: Record<string, number>;
  /** The message whose deltas are streaming, if any. */
  streamingMessage: string | null;
  /** tool_use id → the bubble holding it. */
  toolUses: Record<string, { messageId: string; name: string }>;
  toolResults: Record<string, ToolResultEntry>;
  permissions: Record<string, PermissionEntry>;
  /** Request ids waiting for an answer, oldest first. */
  pending: string[];
  /** The process: `starting`, `running`, `exited`, `stopped`, `failed`. */
  processState: string;
  /** The turn: `starting`, `idle`, `running`, `requires_action` (or an ended state); null before any `state` event. */
  turnState: string | null;
  needsAttention: boolean;
  exitCode?: number;
  detail?: string;
  slashCommands: SlashCommand[];
  models: ModelOption[];
  model: string | null;
  permissionMode: string | null;
  cwd: string | null;
  tools: string[];
  totals: Totals;
  /** Seq of the newest `error` event (switches that failed reset on it). */
  lastErrorSeq: number;
  /** An interrupt was sent and the turn has not ended yet. */
  interrupting: boolean;
  session: SessionInfo | null;
}

export type ChatAction =
  | { type: 'server'; msg: ServerMessage }
  | { type: 'events'; events: EventMsg[] }
  | { type: 'reset'; session?: SessionInfo | null }
  /** This client sent an interrupt (shown until the turn or the session ends). */
  | { type: 'interrupt' };

const ENDED = new Set(['exited', 'stopped', 'failed']);

export function isEndedState(s: string | null | undefined): boolean {
  return s != null && ENDED.has(s);
}

export function initialChatState(session?: SessionInfo | null): ChatState {
  return {
    lastSeq: 0,
    items: [],
    assistantIndex: {},
    streamingMessage: null,
    toolUses: {},
    toolResults: {},
    permissions: {},
    pending: [],
    processState: session?.state ?? 'starting',
    turnState: null,
    needsAttention: session?.needs_attention ?? false,
    slashCommands: [],
    models: [],
    model: session?.model ?? null,
    permissionMode: session?.permission_mode ?? null,
    cwd: session?.working_dir ?? null,
    tools: [],
    totals: { cost_usd: 0, input_tokens: 0, output_tokens: 0, turns: 0 },
    lastErrorSeq: 0,
    interrupting: false,
    session: session ?? null,
  };
}

// ---------------------------------------------------------------- selectors

/** Whether the session's process has ended. */
export function isEnded(s: ChatState): boolean {
  return isEndedState(s.processState) || isEndedState(s.turnState);
}

/** Whether a turn is in progress (interrupt makes sense). */
export function isBusy(s: ChatState): boolean {
  return !isEnded(s) && (s.turnState === 'running' || s.turnState === 'requires_action');
}

/** Prefix of the CLI's internal diagnostics in a result's `errors` (its own UI hides them too). */
const DIAGNOSTIC_PREFIX = '[ede_diagnostic]';

/** How a turn ended, and the error texts worth showing. */
export interface TurnOutcome {
  kind: 'ok' | 'interrupted' | 'failed';
  errors: string[];
}

/**
 * Reads a `result` event: an interrupt (the CLI's `terminal_reason`
 * `aborted_*`; older events: `error_during_execution` with only diagnostics)
 * is not a failure.
 */
export function turnOutcome(r: ResultEvent): TurnOutcome {
  const errors = r.errors.filter((e) => !e.startsWith(DIAGNOSTIC_PREFIX));
  const interrupted =
    r.terminal_reason !== undefined
      ? r.terminal_reason.startsWith('aborted')
      : r.subtype === 'error_during_execution' && errors.length === 0;
  if (interrupted) return { kind: 'interrupted', errors };
  return { kind: r.is_error ? 'failed' : 'ok', errors };
}

/** Pending permission requests, oldest first. */
export function pendingPermissions(s: ChatState): PermissionEntry[] {
  return s.pending.map((id) => s.permissions[id]).filter((p): p is PermissionEntry => !!p);
}

/** The permission request about a tool call, if any (the newest). */
export function permissionForTool(s: ChatState, toolUseId: string): PermissionEntry | undefined {
  let found: PermissionEntry | undefined;
  for (const p of Object.values(s.permissions)) {
    if (p.request.tool_use_id === toolUseId && (!found || p.seq > found.seq)) found = p;
  }
  return found;
}

// ---------------------------------------------------------------- reducer

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'reset':
      return initialChatState(action.session);
    case 'interrupt':
      // A turn that already ended has nothing left to interrupt.
      return isBusy(state) ? { ...state, interrupting: true } : state;
    case 'events': {
      let s = state;
      for (const e of action.events) s = applyEvent(s, e);
      return s;
    }
    case 'server': {
      const msg = action.msg;
      if (msg.type === 'event') return applyEvent(state, msg);
      if (msg.type === 'connected') return applyConnected(state, msg.session);
      return state; // errors and pongs are the view's business
    }
  }
}

function applyConnected(state: ChatState, session: SessionInfo): ChatState {
  const s: ChatState = { ...state, session };
  if (session.state) s.processState = session.state;
  if (typeof session.needs_attention === 'boolean') s.needsAttention = session.needs_attention;
  if (s.model == null && session.model) s.model = session.model;
  if (s.permissionMode == null && session.permission_mode) s.permissionMode = session.permission_mode;
  if (s.cwd == null && session.working_dir) s.cwd = session.working_dir;
  return s;
}

/** Folds one stored event in; duplicates (seq ≤ lastSeq) are ignored. */
export function applyEvent(state: ChatState, msg: EventMsg): ChatState {
  if (msg.seq <= state.lastSeq) return state;
  const s: ChatState = { ...state, lastSeq: msg.seq };
  const { seq, at } = msg;
  const e = msg.event;
  switch (e.kind) {
    case 'user_message':
      return push(s, { type: 'user', key: `u${seq}`, seq, at, text: e.text, images: e.images, by: e.by });
    case 'assistant_delta':
      return applyDelta(s, e, seq, at);
    case 'assistant_message':
      return applyAssistant(s, e, seq, at);
    case 'tool_result':
      return applyToolResult(s, e, seq, at);
    case 'permission_request':
      return applyPermissionRequest(s, e, seq, at);
    case 'permission_resolved':
      return applyPermissionResolved(s, e);
    case 'result':
      return applyResult(s, e, seq, at);
    case 'state':
      return applyState(s, e, seq, at);
    case 'system':
      return applySystem(s, e, seq, at);
    case 'error':
      return push({ ...s, lastErrorSeq: seq }, { type: 'error', key: `e${seq}`, seq, at, code: e.code, message: e.message, line: e.line });
    case 'unknown':
      return push(s, { type: 'unknown', key: `x${seq}`, seq, at, event: e });
  }
}

function push(s: ChatState, item: TranscriptItem): ChatState {
  return { ...s, items: [...s.items, item] };
}

function replaceItem(s: ChatState, index: number, item: TranscriptItem): ChatState {
  const items = s.items.slice();
  items[index] = item;
  return { ...s, items };
}

function removeItem(s: ChatState, index: number): ChatState {
  const items = s.items.slice();
  items.splice(index, 1);
  const assistantIndex: Record<string, number> = {};
  items.forEach((it, i) => {
    if (it.type === 'assistant') assistantIndex[it.messageId] = i;
  });
  return { ...s, items, assistantIndex };
}

/**
 * Drops what is still streaming in the current bubble (an aborted or
 * superseded stream); a bubble that only held streamed text disappears.
 */
function dropStream(s: ChatState): ChatState {
  const id = s.streamingMessage;
  if (id == null) return s;
  const out: ChatState = { ...s, streamingMessage: null };
  const idx = out.assistantIndex[id];
  if (idx === undefined) return out;
  const item = out.items[idx] as AssistantItem;
  if (item.blocks.length === 0) {
    const assistantIndex = { ...out.assistantIndex };
    delete assistantIndex[id];
    return removeItem({ ...out, assistantIndex }, idx);
  }
  if (item.streaming.length === 0) return out;
  return replaceItem(out, idx, { ...item, streaming: [] });
}

function applyDelta(s0: ChatState, e: AssistantDeltaEvent, seq: number, at: string): ChatState {
  const target = e.message_id ?? s0.streamingMessage ?? `~${seq}`;
  let s = s0;
  if (s.streamingMessage !== null && s.streamingMessage !== target) s = dropStream(s);
  s = { ...s, streamingMessage: target };
  const idx = s.assistantIndex[target];
  if (idx === undefined) {
    const item: AssistantItem = {
      type: 'assistant',
      key: `a${seq}`,
      seq,
      at,
      messageId: target,
      blocks: [],
      streaming: [{ index: e.index, delta_type: e.delta_type, text: e.text }],
    };
    return { ...push(s, item), assistantIndex: { ...s.assistantIndex, [target]: s.items.length } };
  }
  const item = s.items[idx] as AssistantItem;
  if (e.index < item.blocks.length) return s; // that block is already complete
  const streaming = item.streaming.slice();
  const p = streaming.findIndex((x) => x.index === e.index && x.delta_type === e.delta_type);
  if (p >= 0) streaming[p] = { ...streaming[p], text: streaming[p].text + e.text };
  else streaming.push({ index: e.index, delta_type: e.delta_type, text: e.text });
  return replaceItem(s, idx, { ...item, streaming });
}

function applyAssistant(s0: ChatState, e: AssistantMessageEvent, seq: number, at: string): ChatState {
  let s = s0;
  const id = e.message_id;
  let idx = s.assistantIndex[id];
  const cur = s.streamingMessage;
  if (idx === undefined && cur !== null && cur.startsWith('~') && s.assistantIndex[cur] !== undefined) {
    // A stream that never said its id: this complete message is the one it was writing.
    idx = s.assistantIndex[cur];
    const assistantIndex = { ...s.assistantIndex, [id]: idx };
    delete assistantIndex[cur];
    const item = s.items[idx] as AssistantItem;
    s = replaceItem({ ...s, assistantIndex, streamingMessage: id }, idx, { ...item, messageId: id });
  } else if (cur !== null && cur !== id) {
    s = dropStream(s);
    idx = s.assistantIndex[id];
  }
  const toolUses = { ...s.toolUses };
  for (const b of e.content) if (b.type === 'tool_use') toolUses[b.id] = { messageId: id, name: b.name };
  s = { ...s, toolUses };
  if (idx === undefined) {
    const item: AssistantItem = {
      type: 'assistant',
      key: `a${seq}`,
      seq,
      at,
      messageId: id,
      model: e.model,
      blocks: e.content,
      streaming: [],
      parentToolUseId: e.parent_tool_use_id,
      error: e.error,
    };
    return { ...push(s, item), assistantIndex: { ...s.assistantIndex, [id]: s.items.length } };
  }
  const item = s.items[idx] as AssistantItem;
  const blocks = [...item.blocks, ...e.content];
  // The CLI prints one line per complete block, in order: blocks up to
  // `blocks.length` are done, and their streamed text is replaced.
  const streaming = item.streaming.filter((p) => p.index >= blocks.length);
  return replaceItem(s, idx, {
    ...item,
    blocks,
    streaming,
    model: item.model ?? e.model,
    parentToolUseId: item.parentToolUseId ?? e.parent_tool_use_id,
    error: e.error ?? item.error,
  });
}

function applyToolResult(s: ChatState, e: ToolResultEvent, seq: number, at: string): ChatState {
  const out: ChatState = { ...s, toolResults: { ...s.toolResults, [e.tool_use_id]: { ...e, seq } } };
  if (s.toolUses[e.tool_use_id]) return out;
  return push(out, { type: 'tool_result', key: `t${seq}`, seq, at, toolUseId: e.tool_use_id });
}

function applyPermissionRequest(s: ChatState, e: PermissionRequestEvent, seq: number, at: string): ChatState {
  const permissions = { ...s.permissions, [e.request_id]: { request: e, seq, status: 'pending' as const } };
  const pending = s.pending.includes(e.request_id) ? s.pending : [...s.pending, e.request_id];
  return push(
    { ...s, permissions, pending },
    { type: 'permission', key: `p${seq}`, seq, at, requestId: e.request_id },
  );
}

function applyPermissionResolved(s: ChatState, e: PermissionResolvedEvent): ChatState {
  const prev = s.permissions[e.request_id];
  if (!prev) return s; // a request this transcript never showed
  const permissions = {
    ...s.permissions,
    [e.request_id]: { ...prev, status: e.resolution, by: e.by, message: e.message, remember: e.remember },
  };
  return { ...s, permissions, pending: s.pending.filter((id) => id !== e.request_id) };
}

function applyResult(s0: ChatState, e: ResultEvent, seq: number, at: string): ChatState {
  const s = dropStream(s0);
  const totals: Totals = {
    cost_usd: s.totals.cost_usd + e.cost_usd,
    input_tokens: s.totals.input_tokens + e.input_tokens,
    output_tokens: s.totals.output_tokens + e.output_tokens,
    turns: s.totals.turns + 1,
  };
  return push({ ...s, totals, interrupting: false }, { type: 'result', key: `r${seq}`, seq, at, result: e });
}

function applyState(s0: ChatState, e: StateEvent, seq: number, at: string): ChatState {
  const wasEnded = isEnded(s0);
  let s: ChatState = {
    ...s0,
    turnState: e.state,
    needsAttention: e.needs_attention,
    exitCode: e.exit_code ?? s0.exitCode,
    detail: e.detail,
  };
  // The turn is over (a result, or the process ended): nothing is being interrupted any more.
  if (e.state !== 'running' && e.state !== 'requires_action') s.interrupting = false;
  if (isEndedState(e.state)) {
    s.processState = e.state;
    s = dropStream(s);
    // Nobody can answer an ended process's requests any more.
    if (s.pending.length > 0) {
      const permissions = { ...s.permissions };
      for (const id of s.pending) {
        const p = permissions[id];
        if (p) permissions[id] = { ...p, status: 'cancelled', message: p.message ?? 'the session ended' };
      }
      s = { ...s, permissions, pending: [], needsAttention: false };
    }
    if (!wasEnded) {
      s = push(s, { type: 'ended', key: `s${seq}`, seq, at, state: e.state, exitCode: e.exit_code, detail: e.detail });
    }
  } else {
    s.processState = e.state === 'starting' ? 'starting' : 'running';
  }
  return s;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseCommands(data: unknown, names: string[]): SlashCommand[] {
  const out: SlashCommand[] = [];
  const seen = new Set<string>();
  const list = isObj(data) && Array.isArray(data.commands) ? data.commands : [];
  for (const c of list) {
    if (!isObj(c) || typeof c.name !== 'string') continue;
    const name = c.name.replace(/^\//, '');
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({
      name,
      description: typeof c.description === 'string' && c.description ? c.description : undefined,
      argumentHint: typeof c.argumentHint === 'string' && c.argumentHint ? c.argumentHint : undefined,
    });
  }
  for (const n of names) {
    const name = n.replace(/^\//, '');
    if (!seen.has(name)) {
      seen.add(name);
      out.push({ name });
    }
  }
  return out;
}

function mergeCommands(prev: SlashCommand[], names: string[]): SlashCommand[] {
  if (names.length === 0) return prev;
  const byName = new Map(prev.map((c) => [c.name, c]));
  return names.map((n) => {
    const name = n.replace(/^\//, '');
    return byName.get(name) ?? { name };
  });
}

function parseModels(data: unknown): ModelOption[] {
  const list = isObj(data) && Array.isArray(data.models) ? data.models : [];
  const out: ModelOption[] = [];
  for (const m of list) {
    if (typeof m === 'string') out.push({ value: m, label: m });
    else if (isObj(m) && typeof m.value === 'string') {
      out.push({
        value: m.value,
        label: typeof m.displayName === 'string' ? m.displayName : m.value,
        description: typeof m.description === 'string' ? m.description : undefined,
      });
    }
  }
  return out;
}

/** Text the CLI made itself, without its markup (`<local-command-stdout>` …). */
export function cleanNotice(text: string): string {
  return text
    .replace(/<\/?(local-command-stdout|local-command-stderr|command-name|command-message|command-args)>/g, '')
    .trim();
}

/** System subtypes that only update state, or are noise in a transcript. */
const SILENT_SYSTEM = new Set([
  'init',
  'initialize',
  'thinking_tokens',
  'session_state_changed',
  'task_progress',
  'task_updated',
  'hook_started',
  'hook_progress',
  'hook_response',
  'keep_alive',
]);

function systemText(e: SystemEvent): string | null {
  const d = isObj(e.data) ? e.data : {};
  switch (e.subtype) {
    case 'status': {
      if (typeof d.permissionMode === 'string') return `Permission mode: ${d.permissionMode}`;
      if (d.status === 'compacting') return 'Compacting the conversation…';
      if (d.compact_result === 'success') return 'Conversation compacted.';
      if (d.compact_result === 'failed') {
        return `Compaction failed${typeof d.compact_error === 'string' ? `: ${d.compact_error}` : '.'}`;
      }
      return null;
    }
    case 'notice':
      return typeof d.text === 'string' ? cleanNotice(d.text) || null : null;
    case 'api_retry': {
      const attempt = typeof d.attempt === 'number' ? d.attempt : '?';
      const max = typeof d.max_retries === 'number' ? `/${d.max_retries}` : '';
      const delay = typeof d.retry_delay_ms === 'number' ? ` in ${(d.retry_delay_ms / 1000).toFixed(1)} s` : '';
      const why = [d.error_status, d.error].filter((x) => x != null && x !== '').join(' ');
      return `API request failed${why ? ` (${why})` : ''}; retry ${attempt}${max}${delay}`;
    }
    case 'compact_boundary':
      return 'Conversation compacted.';
    case 'imported':
      // `cut`: the conversation file was bigger than session_max_event_bytes.
      return d.cut === true
        ? 'Only the start of the earlier conversation was imported: it is bigger than the server keeps for one session.'
        : 'Earlier messages of this conversation were imported.';
    case 'permission_denied':
      return typeof d.message === 'string' ? d.message : 'A tool call was denied by a permission rule.';
    case 'task_started':
      return `Subagent started${typeof d.description === 'string' ? `: ${d.description}` : ''}`;
    case 'task_notification':
      return `Subagent ${typeof d.status === 'string' ? d.status : 'finished'}${
        typeof d.summary === 'string' ? `: ${d.summary}` : ''
      }`;
    default:
      return `${e.subtype}`;
  }
}

function applySystem(s0: ChatState, e: SystemEvent, seq: number, at: string): ChatState {
  let s = s0;
  if (e.subtype === 'initialize') {
    const commands = parseCommands(e.data, e.slash_commands);
    const models = parseModels(e.data);
    s = { ...s, slashCommands: commands.length ? commands : s.slashCommands, models: models.length ? models : s.models };
  } else if (e.subtype === 'init') {
    s = {
      ...s,
      model: e.model ?? s.model,
      cwd: e.cwd ?? s.cwd,
      tools: e.tools.length ? e.tools : s.tools,
      slashCommands: mergeCommands(s.slashCommands, e.slash_commands),
    };
  }
  if (e.permission_mode) s = { ...s, permissionMode: e.permission_mode };
  if (SILENT_SYSTEM.has(e.subtype)) return s;
  const text = systemText(e);
  if (text === null) return s;
  return push(s, { type: 'system', key: `y${seq}`, seq, at, subtype: e.subtype, text, data: e.data });
}
