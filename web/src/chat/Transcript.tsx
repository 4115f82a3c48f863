// The transcript: bubbles, tool cards, notices, turn results.

import { memo } from 'react';
import { formatCost, formatDuration, formatTokens, prettyJson, toolLabel } from './format';
import { Markdown } from './Markdown';
import type {
  AssistantItem,
  PermissionEntry,
  ResultItem,
  StreamPart,
  ToolResultEntry,
  TranscriptItem,
  UserItem,
} from './state';
import { turnOutcome } from './state';
import { OrphanResult, Output, ToolCard } from './ToolCard';

function time(at: string): string | undefined {
  if (!at) return undefined;
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? undefined : d.toLocaleString();
}

const UserBubble = memo(function UserBubble({ item }: { item: UserItem }) {
  return (
    <div className="msg msg-user" data-testid="msg-user" data-seq={item.seq} title={time(item.at)}>
      {item.by && <div className="msg-by">{item.by}</div>}
      <div className="msg-text">{item.text}</div>
      {item.images.length > 0 && (
        <div className="msg-images">
          {item.images.map((t, i) => (
            <span key={i} className="msg-image-chip">
              image ({t.replace('image/', '')})
            </span>
          ))}
        </div>
      )}
    </div>
  );
});

function Thinking({ text, streaming }: { text: string; streaming?: boolean }) {
  return (
    <details className="thinking" open={streaming || undefined}>
      <summary>{streaming ? 'Thinking…' : 'Thinking'}</summary>
      <div className="thinking-text">{text}</div>
    </details>
  );
}

function StreamingPart({ part }: { part: StreamPart }) {
  switch (part.delta_type) {
    case 'text':
      return (
        <div className="msg-streaming" aria-busy="true">
          <Markdown text={part.text} />
        </div>
      );
    case 'thinking':
      return <Thinking text={part.text} streaming />;
    case 'input_json':
      return (
        <div className="tool-card tool-preparing" aria-busy="true">
          <div className="tool-preparing-head">
            <span className="tool-dot tool-dot-running" aria-hidden="true" /> Preparing a tool call…
          </div>
          <Output text={part.text} />
        </div>
      );
  }
}

export interface BubbleContext {
  toolResults: Record<string, ToolResultEntry>;
  permissionsByTool: Record<string, PermissionEntry>;
  /** A turn is running. */
  active: boolean;
}

const AssistantBubble = memo(function AssistantBubble({
  item,
  toolResults,
  permissionsByTool,
  active,
}: { item: AssistantItem } & BubbleContext) {
  const isError = !!item.error;
  const streaming = item.streaming.filter((p) => p.index >= item.blocks.length).sort((a, b) => a.index - b.index);
  return (
    <div
      className={`msg msg-assistant${isError ? ' msg-error' : ''}${item.parentToolUseId ? ' msg-subagent' : ''}${
        streaming.length ? ' msg-is-streaming' : ''
      }`}
      data-testid="msg-assistant"
      data-message-id={item.messageId}
      data-streaming={streaming.length ? 'true' : undefined}
      title={time(item.at)}
    >
      {item.parentToolUseId && <div className="msg-by">subagent</div>}
      {isError && <div className="msg-by">API error: {item.error}</div>}
      {item.blocks.map((b, i) => {
        switch (b.type) {
          case 'text':
            return <Markdown key={i} text={b.text} />;
          case 'thinking':
            return <Thinking key={i} text={b.thinking} />;
          case 'redacted_thinking':
            return (
              <p key={i} className="muted small">
                (redacted thinking)
              </p>
            );
          case 'tool_use':
            return (
              <ToolCard
                key={b.id || i}
                id={b.id}
                name={b.name}
                input={b.input}
                result={toolResults[b.id]}
                permission={permissionsByTool[b.id]}
                active={active}
              />
            );
          default:
            return (
              <details key={i} className="msg-other">
                <summary>Content block</summary>
                <Output text={prettyJson(b.raw)} lang="json" />
              </details>
            );
        }
      })}
      {streaming.map((p) => (
        <StreamingPart key={`${p.index}-${p.delta_type}`} part={p} />
      ))}
    </div>
  );
});

/** How a permission request ended, in words (a question is answered or dismissed, not allowed or denied). */
export function permissionOutcome(p: PermissionEntry): string {
  const by = p.by ? ` by ${p.by}` : '';
  const msg = p.message ? `: ${p.message}` : '';
  const question = p.request.prompt_kind === 'question';
  switch (p.status) {
    case 'pending':
      return 'waiting for an answer…';
    case 'allow':
      if (question) return `answered${by}`;
      return p.remember ? `always allowed${by}` : `allowed${by}`;
    case 'deny':
      return `${question ? 'dismissed' : 'denied'}${by}${msg}`;
    case 'timeout':
      return question ? `nobody answered in time${msg}` : `nobody answered in time; denied${msg}`;
    case 'cancelled':
      return `withdrawn${msg}`;
  }
}

function PermissionLine({ entry }: { entry: PermissionEntry }) {
  const r = entry.request;
  const what =
    r.prompt_kind === 'question' ? 'Question' : r.prompt_kind === 'plan' ? 'Plan approval' : `Permission for ${toolLabel(r.tool_name)}`;
  return (
    <div className={`line line-permission perm-${entry.status}`} data-testid="permission-outcome" data-status={entry.status} data-request-id={r.request_id}>
      <span className="line-icon" aria-hidden="true">
        {entry.status === 'pending' ? '•' : entry.status === 'allow' ? '✓' : '✕'}
      </span>
      {what}: {permissionOutcome(entry)}
    </div>
  );
}

function ResultLine({ item }: { item: ResultItem }) {
  const r = item.result;
  const parts = [
    formatCost(r.cost_usd),
    `${formatTokens(r.input_tokens)} in`,
    `${formatTokens(r.output_tokens)} out`,
    formatDuration(r.duration_ms),
  ].filter(Boolean);
  const outcome = turnOutcome(r);
  return (
    <div className={`turn-result${outcome.kind === 'failed' ? ' turn-error' : ''}`} data-testid="turn-result" data-outcome={outcome.kind}>
      {outcome.kind === 'interrupted' && (
        <div className="turn-interrupted" role="note" data-testid="turn-interrupted">
          Interrupted
          {outcome.errors.length ? `: ${outcome.errors.join('; ')}` : ''}
        </div>
      )}
      {outcome.kind === 'failed' && (
        <div className="turn-error-text" role="note">
          Turn failed
          {r.api_error_status ? ` (API ${r.api_error_status})` : ''}
          {outcome.errors.length ? `: ${outcome.errors.join('; ')}` : r.result ? `: ${r.result}` : ''}
        </div>
      )}
      <div
        className="turn-cost"
        data-testid="turn-cost"
        title={`This turn: ${r.input_tokens} input tokens, ${r.output_tokens} output tokens${r.num_turns ? `, ${r.num_turns} API calls` : ''}`}
      >
        {parts.join(' · ')}
      </div>
    </div>
  );
}

export interface TranscriptProps extends BubbleContext {
  items: TranscriptItem[];
  permissions: Record<string, PermissionEntry>;
}

export function TranscriptItems({ items, permissions, toolResults, permissionsByTool, active }: TranscriptProps) {
  return (
    <>
      {items.map((item) => {
        switch (item.type) {
          case 'user':
            return <UserBubble key={item.key} item={item} />;
          case 'assistant':
            return (
              <AssistantBubble
                key={item.key}
                item={item}
                toolResults={toolResults}
                permissionsByTool={permissionsByTool}
                active={active}
              />
            );
          case 'system':
            return (
              <div key={item.key} className={`line line-system line-${item.subtype}`} title={time(item.at)}>
                {item.text}
              </div>
            );
          case 'permission': {
            const p = permissions[item.requestId];
            return p ? <PermissionLine key={item.key} entry={p} /> : null;
          }
          case 'result':
            return <ResultLine key={item.key} item={item} />;
          case 'error':
            return (
              <div key={item.key} className="line line-error" data-testid="chat-error-event" title={time(item.at)}>
                <strong>{item.code}</strong>: {item.message}
                {item.line && (
                  <details>
                    <summary>Details</summary>
                    <Output text={item.line} />
                  </details>
                )}
              </div>
            );
          case 'ended':
            return (
              <div key={item.key} className="line line-ended" title={time(item.at)}>
                Session {item.state}
                {item.exitCode != null ? ` (exit code ${item.exitCode})` : ''}
                {item.detail ? ` — ${item.detail}` : ''}
              </div>
            );
          case 'tool_result': {
            const r = toolResults[item.toolUseId];
            return r ? <OrphanResult key={item.key} result={r} /> : null;
          }
          case 'unknown':
            return (
              <details key={item.key} className="line line-unknown">
                <summary>
                  Unrecognised event{item.event.original_kind ? ` “${item.event.original_kind}”` : ''} ({item.event.reason})
                </summary>
                <Output text={prettyJson(item.event.raw)} lang="json" />
              </details>
            );
        }
      })}
    </>
  );
}
