// @vitest-environment node
import { describe, expect, it } from 'vitest';
import type { ChatEvent, EventMsg, ServerMessage } from './protocol';
import { parseEvent } from './protocol';
import {
  chatReducer,
  initialChatState,
  isBusy,
  isEnded,
  pendingPermissions,
  permissionForTool,
  turnOutcome,
  type AssistantItem,
  type ChatState,
} from './state';

/** Builds a state by folding raw wire events with seq 1, 2, 3, … */
function fold(events: unknown[], from: ChatState = initialChatState(), firstSeq?: number): ChatState {
  let s = from;
  let seq = firstSeq ?? from.lastSeq + 1;
  for (const raw of events) {
    const msg: ServerMessage = { type: 'event', seq: seq++, at: '2026-01-01T00:00:00Z', event: parseEvent(raw) };
    s = chatReducer(s, { type: 'server', msg });
  }
  return s;
}

const delta = (message_id: string | undefined, text: string, index = 0, delta_type = 'text') => ({
  kind: 'assistant_delta',
  ...(message_id ? { message_id } : {}),
  index,
  delta_type,
  text,
});
const msg = (message_id: string, content: unknown[], extra: object = {}) => ({
  kind: 'assistant_message',
  message_id,
  content,
  ...extra,
});
const text = (t: string) => ({ type: 'text', text: t });
const toolUse = (id: string, name: string, input: object) => ({ type: 'tool_use', id, name, input });
const result = (cost: number, input: number, output: number, extra: object = {}) => ({
  kind: 'result',
  subtype: 'success',
  is_error: false,
  cost_usd: cost,
  input_tokens: input,
  output_tokens: output,
  ...extra,
});

function bubbles(s: ChatState): AssistantItem[] {
  return s.items.filter((i): i is AssistantItem => i.type === 'assistant');
}

describe('streaming', () => {
  it('builds the streaming text from deltas', () => {
    const s = fold([delta('m1', 'Hel'), delta('m1', 'lo '), delta('m1', 'world')]);
    const [b] = bubbles(s);
    expect(b.messageId).toBe('m1');
    expect(b.blocks).toEqual([]);
    expect(b.streaming).toEqual([{ index: 0, delta_type: 'text', text: 'Hello world' }]);
    expect(s.streamingMessage).toBe('m1');
  });

  it('keeps thinking, text and tool input of different blocks apart', () => {
    const s = fold([
      delta('m1', 'hmm', 0, 'thinking'),
      delta('m1', ' ok', 0, 'thinking'),
      delta('m1', 'Hi', 1, 'text'),
      delta('m1', '{"comm', 2, 'input_json'),
    ]);
    expect(bubbles(s)[0].streaming).toEqual([
      { index: 0, delta_type: 'thinking', text: 'hmm ok' },
      { index: 1, delta_type: 'text', text: 'Hi' },
      { index: 2, delta_type: 'input_json', text: '{"comm' },
    ]);
  });

  it('replaces streamed text by the complete message', () => {
    const s = fold([delta('m1', 'Hel'), delta('m1', 'lo'), msg('m1', [text('Hello')])]);
    const bs = bubbles(s);
    expect(bs).toHaveLength(1);
    expect(bs[0].blocks).toEqual([{ type: 'text', text: 'Hello' }]);
    expect(bs[0].streaming).toEqual([]);
  });

  it('replaces block by block: later blocks keep streaming', () => {
    const s = fold([
      delta('m1', 'think', 0, 'thinking'),
      msg('m1', [{ type: 'thinking', thinking: 'think' }]),
      delta('m1', 'Ans', 1),
    ]);
    const [b] = bubbles(s);
    expect(b.blocks).toHaveLength(1);
    expect(b.streaming).toEqual([{ index: 1, delta_type: 'text', text: 'Ans' }]);
    const s2 = fold([delta('m1', 'wer', 1), msg('m1', [text('Answer')])], s);
    expect(bubbles(s2)[0].blocks).toEqual([{ type: 'thinking', thinking: 'think' }, text('Answer')]);
    expect(bubbles(s2)[0].streaming).toEqual([]);
  });

  it('a new message id starts a new bubble; an aborted stream does not leak into it', () => {
    // The first stream is cut off (API error mid-stream), the retry streams under a new id.
    const s = fold([delta('m1', 'partial ans'), delta('m2', 'Full'), delta('m2', ' answer'), msg('m2', [text('Full answer')])]);
    const bs = bubbles(s);
    expect(bs).toHaveLength(1);
    expect(bs[0].messageId).toBe('m2');
    expect(bs[0].blocks).toEqual([text('Full answer')]);
    expect(JSON.stringify(s.items)).not.toContain('partial');
  });

  it('drops an aborted stream when a non-streamed message with another id arrives', () => {
    const s = fold([delta('m1', 'partial'), msg('m2', [text('fallback answer')])]);
    expect(bubbles(s).map((b) => b.messageId)).toEqual(['m2']);
  });

  it('keeps the complete blocks of a bubble whose later stream was aborted', () => {
    const s = fold([msg('m1', [text('first block')]), delta('m1', 'second', 1), delta('m2', 'x')]);
    const bs = bubbles(s);
    expect(bs.map((b) => b.messageId)).toEqual(['m1', 'm2']);
    expect(bs[0].blocks).toEqual([text('first block')]);
    expect(bs[0].streaming).toEqual([]);
    expect(bs[1].streaming[0].text).toBe('x');
  });

  it('drops leftover streamed text at the end of the turn', () => {
    const s = fold([delta('m1', 'never completed'), result(0, 1, 1)]);
    expect(bubbles(s)).toHaveLength(0);
    expect(s.streamingMessage).toBeNull();
  });

  it('an interrupted stream keeps the partial message the CLI prints', () => {
    const s = fold([
      delta('m1', 'Once upon'),
      delta('m1', ' a time'),
      msg('m1', [text('Once upon a time')]),
      { kind: 'system', subtype: 'notice', data: { text: '[Request interrupted by user]' } },
      result(0, 3, 2, { subtype: 'error_during_execution', is_error: true }),
    ]);
    expect(bubbles(s)[0].blocks).toEqual([text('Once upon a time')]);
    expect(s.items.map((i) => i.type)).toEqual(['assistant', 'system', 'result']);
  });

  it('adopts the id of a complete message for a stream that had none', () => {
    const s = fold([delta(undefined, 'Hi'), delta(undefined, ' there'), msg('m9', [text('Hi there')])]);
    const bs = bubbles(s);
    expect(bs).toHaveLength(1);
    expect(bs[0].messageId).toBe('m9');
    expect(bs[0].streaming).toEqual([]);
    expect(s.assistantIndex).toEqual({ m9: 0 });
  });

  it('ignores a late delta for a block that is already complete', () => {
    const s = fold([msg('m1', [text('done')]), delta('m1', 'late', 0)]);
    expect(bubbles(s)[0].streaming).toEqual([]);
  });
});

describe('grouping', () => {
  it('groups blocks with the same message id into one bubble', () => {
    const s = fold([
      msg('m1', [{ type: 'thinking', thinking: 'let me see' }]),
      msg('m1', [text('I will run two commands.')]),
      msg('m1', [toolUse('t1', 'Bash', { command: 'ls' })]),
      msg('m1', [toolUse('t2', 'Bash', { command: 'pwd' })]),
      { kind: 'tool_result', tool_use_id: 't1', content: 'a b', is_error: false },
      { kind: 'tool_result', tool_use_id: 't2', content: '/p', is_error: false },
      msg('m2', [text('Done.')]),
    ]);
    const bs = bubbles(s);
    expect(bs.map((b) => [b.messageId, b.blocks.length])).toEqual([
      ['m1', 4],
      ['m2', 1],
    ]);
    expect(s.items.map((i) => i.type)).toEqual(['assistant', 'assistant']);
  });

  it('appends to a bubble even when other events came between its blocks', () => {
    const s = fold([
      msg('m1', [toolUse('t1', 'Bash', { command: 'ls' })]),
      { kind: 'state', state: 'running', needs_attention: false },
      msg('m1', [toolUse('t2', 'Read', { file_path: '/x' })]),
    ]);
    expect(bubbles(s)).toHaveLength(1);
    expect(bubbles(s)[0].blocks).toHaveLength(2);
  });

  it('keeps user messages, subagent markers and API errors', () => {
    const s = fold([
      { kind: 'user_message', text: 'hello', images: ['image/png'], by: 'alice' },
      msg('m1', [text('Invalid API key')], { model: '<synthetic>', error: 'authentication_failed' }),
      msg('m2', [text('sub')], { parent_tool_use_id: 'tA' }),
    ]);
    expect(s.items[0]).toMatchObject({ type: 'user', text: 'hello', images: ['image/png'], by: 'alice' });
    expect(bubbles(s)[0]).toMatchObject({ model: '<synthetic>', error: 'authentication_failed' });
    expect(bubbles(s)[1].parentToolUseId).toBe('tA');
  });
});

describe('reconnect dedupe', () => {
  it('ignores events with seq at or below the last seen', () => {
    const events: unknown[] = [
      { kind: 'user_message', text: 'hi', images: [] },
      delta('m1', 'Hel'),
      delta('m1', 'lo'),
    ];
    const s1 = fold(events);
    expect(s1.lastSeq).toBe(3);
    // The reconnect replays from after_seq=1 by mistake: 2 and 3 again, then 4.
    const s2 = fold([delta('m1', 'Hel'), delta('m1', 'lo'), msg('m1', [text('Hello')])], s1, 2);
    expect(s2.lastSeq).toBe(4);
    expect(s2.items.filter((i) => i.type === 'user')).toHaveLength(1);
    expect(bubbles(s2)[0].blocks).toEqual([text('Hello')]);
    // A replay of everything changes nothing.
    const s3 = fold([...events, msg('m1', [text('Hello')])], s2, 1);
    expect(s3).toBe(s2);
  });

  it('a split stream gives the same transcript as one stream', () => {
    const all: unknown[] = [
      { kind: 'user_message', text: 'q', images: [] },
      delta('m1', 'a'),
      delta('m1', 'b'),
      msg('m1', [text('ab')]),
      msg('m1', [toolUse('t1', 'Bash', { command: 'ls' })]),
      { kind: 'permission_request', request_id: 'r1', tool_name: 'Bash', input: { command: 'ls' }, tool_use_id: 't1', prompt_kind: 'tool' },
      { kind: 'permission_resolved', request_id: 'r1', resolution: 'allow', by: 'bob' },
      { kind: 'tool_result', tool_use_id: 't1', content: 'x', is_error: false },
      result(0.5, 10, 20),
    ];
    const once = fold(all);
    for (let cut = 1; cut < all.length; cut++) {
      let s = fold(all.slice(0, cut));
      // A reconnect with after_seq = cut - 2 (overlapping by one).
      s = fold(all.slice(Math.max(0, cut - 2)), s, Math.max(1, cut - 1));
      expect(s.items).toEqual(once.items);
      expect(s.totals).toEqual(once.totals);
      expect(s.permissions).toEqual(once.permissions);
    }
  });

  it('connected updates the session without touching the transcript', () => {
    const s1 = fold([{ kind: 'user_message', text: 'hi', images: [] }]);
    const s2 = chatReducer(s1, {
      type: 'server',
      msg: { type: 'connected', session: { id: 's', state: 'running', needs_attention: true, model: 'opus' }, last_seq: 1 },
    });
    expect(s2.items).toBe(s1.items);
    expect(s2.lastSeq).toBe(1);
    expect(s2.needsAttention).toBe(true);
    expect(s2.model).toBe('opus');
  });
});

describe('tool pairing', () => {
  it('pairs a tool result with its tool call by id', () => {
    const s = fold([
      msg('m1', [toolUse('t1', 'Bash', { command: 'echo hi' })]),
      { kind: 'tool_result', tool_use_id: 't1', content: 'hi', is_error: false, structured: { stdout: 'hi', stderr: '' } },
    ]);
    expect(s.toolUses.t1).toEqual({ messageId: 'm1', name: 'Bash' });
    expect(s.toolResults.t1).toMatchObject({ content: 'hi', is_error: false, structured: { stdout: 'hi' }, seq: 2 });
    expect(s.items).toHaveLength(1);
  });

  it('keeps a result whose call is unknown as its own item', () => {
    const s = fold([{ kind: 'tool_result', tool_use_id: 'zz', content: 'orphan', is_error: true }]);
    expect(s.items).toEqual([expect.objectContaining({ type: 'tool_result', toolUseId: 'zz' })]);
    expect(s.toolResults.zz.is_error).toBe(true);
  });
});

describe('permission lifecycle', () => {
  const req = (id: string, extra: object = {}) => ({
    kind: 'permission_request',
    request_id: id,
    tool_name: 'Bash',
    input: { command: 'rm -rf build' },
    suggestions: [{ type: 'addRules' }],
    tool_use_id: 't-' + id,
    description: 'remove build',
    prompt_kind: 'tool',
    ...extra,
  });

  it('queues pending requests in order and resolves them', () => {
    let s = fold([
      { kind: 'state', state: 'running', needs_attention: false },
      req('r1'),
      req('r2'),
      { kind: 'state', state: 'requires_action', needs_attention: true },
    ]);
    expect(pendingPermissions(s).map((p) => p.request.request_id)).toEqual(['r1', 'r2']);
    expect(s.needsAttention).toBe(true);
    expect(isBusy(s)).toBe(true);
    expect(s.items.filter((i) => i.type === 'permission')).toHaveLength(2);

    s = fold([{ kind: 'permission_resolved', request_id: 'r1', resolution: 'allow', by: 'alice', remember: true }], s);
    expect(pendingPermissions(s).map((p) => p.request.request_id)).toEqual(['r2']);
    expect(s.permissions.r1).toMatchObject({ status: 'allow', by: 'alice', remember: true });
    expect(permissionForTool(s, 't-r1')?.status).toBe('allow');

    s = fold([{ kind: 'permission_resolved', request_id: 'r2', resolution: 'deny', by: 'bob', message: 'not now' }], s);
    expect(pendingPermissions(s)).toEqual([]);
    expect(s.permissions.r2).toMatchObject({ status: 'deny', message: 'not now' });
  });

  it('records timeouts and cancellations', () => {
    const s = fold([
      req('r1'),
      req('r2'),
      { kind: 'permission_resolved', request_id: 'r1', resolution: 'timeout', message: 'nobody answered' },
      { kind: 'permission_resolved', request_id: 'r2', resolution: 'cancelled' },
    ]);
    expect(s.pending).toEqual([]);
    expect(s.permissions.r1.status).toBe('timeout');
    expect(s.permissions.r2.status).toBe('cancelled');
  });

  it('ignores resolutions of unknown requests', () => {
    const s0 = fold([req('r1')]);
    const s = fold([{ kind: 'permission_resolved', request_id: 'nope', resolution: 'allow' }], s0);
    expect(s.permissions).toEqual(s0.permissions);
    expect(s.pending).toEqual(['r1']);
  });

  it('keeps question and plan prompts with their kind', () => {
    const s = fold([
      req('q1', { tool_name: 'AskUserQuestion', prompt_kind: 'question', input: { questions: [] } }),
      req('p1', { tool_name: 'ExitPlanMode', prompt_kind: 'plan', input: { plan: '# Plan' } }),
    ]);
    expect(pendingPermissions(s).map((p) => p.request.prompt_kind)).toEqual(['question', 'plan']);
  });

  it('cancels pending requests when the session ends', () => {
    const s = fold([req('r1'), { kind: 'state', state: 'exited', needs_attention: false, exit_code: 143, detail: 'stopped' }]);
    expect(s.pending).toEqual([]);
    expect(s.permissions.r1.status).toBe('cancelled');
    expect(isEnded(s)).toBe(true);
    expect(s.items.at(-1)).toMatchObject({ type: 'ended', state: 'exited', exitCode: 143 });
  });
});

describe('session state', () => {
  it('follows state events', () => {
    let s = fold([{ kind: 'state', state: 'starting', needs_attention: false }]);
    expect(s.processState).toBe('starting');
    expect(isBusy(s)).toBe(false);
    s = fold([{ kind: 'state', state: 'idle', needs_attention: false }], s);
    expect(s.processState).toBe('running');
    expect(s.turnState).toBe('idle');
    s = fold([{ kind: 'state', state: 'running', needs_attention: false }], s);
    expect(isBusy(s)).toBe(true);
    s = fold([{ kind: 'state', state: 'stopped', needs_attention: false }], s);
    expect(isEnded(s)).toBe(true);
    expect(isBusy(s)).toBe(false);
    // A repeated end adds no second marker; a resume lives again.
    s = fold([{ kind: 'state', state: 'stopped', needs_attention: false }], s);
    expect(s.items.filter((i) => i.type === 'ended')).toHaveLength(1);
    s = fold([{ kind: 'state', state: 'starting', needs_attention: false }, { kind: 'state', state: 'idle', needs_attention: false }], s);
    expect(isEnded(s)).toBe(false);
  });

  it('takes an ended session from connected', () => {
    const s = chatReducer(initialChatState(), {
      type: 'server',
      msg: { type: 'connected', session: { id: 's', state: 'exited' }, last_seq: 0 },
    });
    expect(isEnded(s)).toBe(true);
  });

  it('reads slash commands, models and session facts from initialize and init', () => {
    let s = fold([
      {
        kind: 'system',
        subtype: 'initialize',
        slash_commands: ['compact', 'context'],
        data: {
          commands: [
            { name: 'compact', description: 'Clear history but keep a summary', argumentHint: '<instructions>' },
            { name: 'context', description: 'Show context usage', argumentHint: '' },
          ],
          models: [{ value: 'sonnet', displayName: 'Sonnet', description: 'fast' }, { value: 'opus' }],
        },
      },
    ]);
    expect(s.slashCommands).toEqual([
      { name: 'compact', description: 'Clear history but keep a summary', argumentHint: '<instructions>' },
      { name: 'context', description: 'Show context usage', argumentHint: undefined },
    ]);
    expect(s.models).toEqual([
      { value: 'sonnet', label: 'Sonnet', description: 'fast' },
      { value: 'opus', label: 'opus', description: undefined },
    ]);
    expect(s.items).toEqual([]);
    s = fold(
      [
        {
          kind: 'system',
          subtype: 'init',
          model: 'claude-opus-4-8',
          cwd: '/p',
          tools: ['Bash', 'Read'],
          slash_commands: ['compact', 'review'],
          permission_mode: 'default',
        },
      ],
      s,
    );
    expect(s.model).toBe('claude-opus-4-8');
    expect(s.cwd).toBe('/p');
    expect(s.permissionMode).toBe('default');
    expect(s.slashCommands).toEqual([
      { name: 'compact', description: 'Clear history but keep a summary', argumentHint: '<instructions>' },
      { name: 'review' },
    ]);
    s = fold([{ kind: 'system', subtype: 'status', permission_mode: 'acceptEdits', data: { permissionMode: 'acceptEdits' } }], s);
    expect(s.permissionMode).toBe('acceptEdits');
    expect(s.items.at(-1)).toMatchObject({ type: 'system', text: 'Permission mode: acceptEdits' });
  });

  it('shows notices without markup and hides noise', () => {
    const s = fold([
      { kind: 'system', subtype: 'status', data: { status: 'requesting' } },
      { kind: 'system', subtype: 'thinking_tokens', data: {} },
      { kind: 'system', subtype: 'notice', data: { text: '<local-command-stdout>Set model to sonnet</local-command-stdout>' } },
      { kind: 'system', subtype: 'api_retry', data: { attempt: 1, max_retries: 10, retry_delay_ms: 1000, error_status: 529, error: 'overloaded' } },
    ]);
    expect(s.items.map((i) => (i.type === 'system' ? i.text : i.type))).toEqual([
      'Set model to sonnet',
      'API request failed (529 overloaded); retry 1/10 in 1.0 s',
    ]);
  });

  it('shows the storage cap notice and says when an import was cut', () => {
    const s = fold([
      { kind: 'system', subtype: 'imported', data: { events: 3, skipped_lines: 0, cut: true } },
      { kind: 'system', subtype: 'notice', data: { code: 'storage_cap_reached', text: 'This session reached its storage limit.', max_events: 5, max_bytes: 9 } },
    ]);
    expect(s.items.map((i) => (i.type === 'system' ? i.text : i.type))).toEqual([
      'Only the start of the earlier conversation was imported: it is bigger than the server keeps for one session.',
      'This session reached its storage limit.',
    ]);
  });
});

describe('unknown kinds and errors', () => {
  it('keeps unknown events as entries and goes on', () => {
    const s = fold([{ kind: 'teleport', where: 'mars' }, { kind: 'user_message', text: 'still here', images: [] }]);
    expect(s.items[0]).toMatchObject({ type: 'unknown', event: { original_kind: 'teleport' } });
    expect(s.items[1]).toMatchObject({ type: 'user', text: 'still here' });
    expect(s.lastSeq).toBe(2);
  });

  it('keeps error events visible', () => {
    const s = fold([{ kind: 'error', code: 'control_failed', message: 'set_model failed: nope' }]);
    expect(s.items[0]).toMatchObject({ type: 'error', code: 'control_failed', message: 'set_model failed: nope' });
  });

  it('ignores server errors and pongs', () => {
    const s0 = initialChatState();
    expect(chatReducer(s0, { type: 'server', msg: { type: 'pong' } })).toBe(s0);
    expect(chatReducer(s0, { type: 'server', msg: { type: 'error', code: 'x', message: 'y' } })).toBe(s0);
    expect(chatReducer(s0, { type: 'server', msg: { type: 'unknown', reason: 'r', raw: 1 } })).toBe(s0);
  });
});

describe('results', () => {
  it('sums cost and tokens over turns and keeps each turn', () => {
    const s = fold([
      { kind: 'user_message', text: 'a', images: [] },
      msg('m1', [text('A')]),
      result(0.0125, 100, 20, { duration_ms: 1500, num_turns: 1 }),
      { kind: 'user_message', text: 'b', images: [] },
      msg('m2', [text('B')]),
      result(0.0075, 50, 10),
      result(0, 0, 0, { subtype: 'error_during_execution', is_error: true, errors: ['interrupted'] }),
    ]);
    expect(s.totals.turns).toBe(3);
    expect(s.totals.cost_usd).toBeCloseTo(0.02, 10);
    expect(s.totals.input_tokens).toBe(150);
    expect(s.totals.output_tokens).toBe(30);
    const results = s.items.filter((i) => i.type === 'result');
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({ result: { cost_usd: 0.0125, duration_ms: 1500 } });
    expect(results[2]).toMatchObject({ result: { is_error: true, errors: ['interrupted'] } });
  });

  it('reset starts over', () => {
    const s = fold([{ kind: 'user_message', text: 'a', images: [] }]);
    const r = chatReducer(s, { type: 'reset', session: { id: 'x', state: 'running', model: 'm' } });
    expect(r.items).toEqual([]);
    expect(r.lastSeq).toBe(0);
    expect(r.model).toBe('m');
  });

  it('folds a batch of events (REST pages)', () => {
    const events: EventMsg[] = [1, 2, 3].map((seq) => ({
      type: 'event',
      seq,
      at: '',
      event: { kind: 'user_message', text: `m${seq}`, images: [] } as ChatEvent,
    }));
    const s = chatReducer(initialChatState(), { type: 'events', events: [...events, events[1]] });
    expect(s.items.map((i) => (i.type === 'user' ? i.text : ''))).toEqual(['m1', 'm2', 'm3']);
  });
});

describe('interrupts', () => {
  // What CLI 2.1.197 sends after an interrupt while streaming.
  const interrupted = result(0, 0, 0, {
    subtype: 'error_during_execution',
    is_error: true,
    terminal_reason: 'aborted_streaming',
    errors: ['[ede_diagnostic] result_type=user last_content_type=text stop_reason=null'],
  });
  const running = { kind: 'state', state: 'running', needs_attention: false };
  const idle = { kind: 'state', state: 'idle', needs_attention: false };
  const parsed = (raw: unknown) => {
    const e = parseEvent(raw);
    if (e.kind !== 'result') throw new Error('not a result');
    return e;
  };

  it('an interrupted turn is "interrupted", without the CLI diagnostic', () => {
    expect(turnOutcome(parsed(interrupted))).toEqual({ kind: 'interrupted', errors: [] });
    expect(turnOutcome(parsed({ ...interrupted, terminal_reason: 'aborted_tools' })).kind).toBe('interrupted');
    // Events stored before the server passed `terminal_reason` on.
    const old = { ...interrupted, terminal_reason: undefined };
    expect(turnOutcome(parsed(old))).toEqual({ kind: 'interrupted', errors: [] });
  });

  it('failures stay failures, and diagnostics are never shown', () => {
    const apiError = parsed(result(0, 0, 0, { is_error: true, api_error_status: 500, terminal_reason: 'completed' }));
    expect(turnOutcome(apiError).kind).toBe('failed');
    const noConversation = parsed(
      result(0, 0, 0, {
        subtype: 'error_during_execution',
        is_error: true,
        errors: ['[ede_diagnostic] turn aborted', 'No conversation found with session ID: x'],
      }),
    );
    expect(turnOutcome(noConversation)).toEqual({ kind: 'failed', errors: ['No conversation found with session ID: x'] });
    expect(turnOutcome(parsed(result(0, 0, 0))).kind).toBe('ok');
  });

  it('"Interrupting…" lasts until the turn ends', () => {
    let s = fold([{ kind: 'user_message', text: 'count', images: [] }, running, delta('m1', 'slow1 ')]);
    s = chatReducer(s, { type: 'interrupt' });
    expect(s.interrupting).toBe(true);
    s = fold([{ kind: 'system', subtype: 'notice', data: { text: '[Request interrupted by user]' } }], s);
    expect(s.interrupting).toBe(true);
    s = fold([interrupted], s);
    expect(s.interrupting).toBe(false);
    s = fold([idle], s);
    expect(s.interrupting).toBe(false);
  });

  it('"Interrupting…" ends with the session, and is never set between turns', () => {
    let s = fold([running]);
    s = chatReducer(s, { type: 'interrupt' });
    s = fold([{ kind: 'state', state: 'stopped', needs_attention: false }], s);
    expect(s.interrupting).toBe(false);
    const between = fold([running, result(0, 0, 0), idle]);
    expect(chatReducer(between, { type: 'interrupt' }).interrupting).toBe(false);
  });
});
