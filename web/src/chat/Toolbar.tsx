// The chat's status bar: connection, session state, model and permission
// mode switches, session cost.

import { useEffect, useId, useRef, useState } from 'react';
import { formatCost, formatTokens } from './format';
import { PERMISSION_MODES, UNATTENDED_PERMISSION_MODES } from './protocol';
import type { ConnectionInfo } from './socket';
import type { ModelOption, Totals } from './state';

const MODE_LABELS: Record<string, string> = {
  default: 'Ask before edits',
  acceptEdits: 'Accept edits',
  plan: 'Plan mode',
  bypassPermissions: 'Bypass permissions',
  dontAsk: "Don't ask (deny)",
  auto: 'Auto',
};

export function connectionText(c: ConnectionInfo): string {
  switch (c.state) {
    case 'connecting':
      return 'Connecting…';
    case 'open':
      return 'Live';
    case 'reconnecting':
      return c.retryInMs != null ? `Reconnecting in ${Math.max(1, Math.round(c.retryInMs / 1000))} s…` : 'Reconnecting…';
    case 'closed':
      return c.ended ? 'Session ended' : 'Disconnected';
  }
}

export function ConnectionBadge({ conn, onRetry }: { conn: ConnectionInfo; onRetry: () => void }) {
  return (
    <span className={`badge conn conn-${conn.state}${conn.ended ? ' conn-ended' : ''}`} data-testid="chat-connection" data-state={conn.state} role="status" title={conn.reason}>
      <span className="badge-dot" aria-hidden="true" />
      {connectionText(conn)}
      {conn.state === 'reconnecting' && (
        <button type="button" className="link-button" onClick={onRetry}>
          Retry now
        </button>
      )}
    </span>
  );
}

/** The session's state for the badge: a key (for styling and tests) and its text. */
export function sessionStateLabel(ended: boolean, turnState: string | null, processState: string): [string, string] {
  if (ended) return ['ended', 'Ended'];
  switch (turnState) {
    case 'requires_action':
      return ['requires_action', 'Needs your answer'];
    case 'running':
      return ['running', 'Working…'];
    case 'starting':
      return ['starting', 'Starting…'];
    case 'idle':
      return ['idle', 'Ready'];
    default:
      return processState === 'starting' ? ['starting', 'Starting…'] : ['idle', 'Ready'];
  }
}

export interface ToolbarProps {
  conn: ConnectionInfo;
  onRetry: () => void;
  ended: boolean;
  turnState: string | null;
  processState: string;
  model: string | null;
  models: ModelOption[];
  permissionMode: string | null;
  totals: Totals;
  /** Switches can be used (connected, writable, session live). */
  canControl: boolean;
  /** Changes when the server reports an error: an unconfirmed switch is dropped. */
  errorKey: number;
  /** A terminal session's transcript: no switches, no turn state. */
  transcriptOnly?: boolean;
  /** The server allows `bypassPermissions` and `auto` (else they are shown, not offered). */
  bypassAllowed?: boolean;
  onSetModel: (model: string | null) => void;
  onSetMode: (mode: string) => void;
}

export function Toolbar(p: ToolbarProps) {
  const [modelDraft, setModelDraft] = useState(p.model ?? '');
  const [editingModel, setEditingModel] = useState(false);
  // Asked for, not yet confirmed (the CLI reports the model at the next turn).
  const [requestedModel, setRequestedModel] = useState<string | null>(null);
  const [pendingMode, setPendingMode] = useState<string | null>(null);
  const listId = useId();
  const modelId = useId();
  const modeId = useId();

  useEffect(() => setRequestedModel(null), [p.model]);
  const shownModel = requestedModel ?? p.model ?? '';
  useEffect(() => {
    if (!editingModel) setModelDraft(shownModel);
  }, [shownModel, editingModel]);
  // The server confirms a mode change with a status event (or refuses with an error).
  useEffect(() => setPendingMode(null), [p.permissionMode, p.errorKey]);
  useEffect(() => setRequestedModel(null), [p.errorKey]);
  useEffect(() => {
    if (!pendingMode) return;
    const t = setTimeout(() => setPendingMode(null), 8000);
    return () => clearTimeout(t);
  }, [pendingMode]);

  const mode = pendingMode ?? p.permissionMode ?? 'default';
  const modes: string[] = [...PERMISSION_MODES];
  if (!modes.includes(mode)) modes.push(mode);
  const cancelModel = useRef(false);
  const applyModel = () => {
    setEditingModel(false);
    if (cancelModel.current) {
      cancelModel.current = false;
      return;
    }
    const v = modelDraft.trim();
    if (v === shownModel) return;
    setRequestedModel(v);
    p.onSetModel(v || null);
  };
  const [stateKey, stateLabel] = sessionStateLabel(p.ended, p.turnState, p.processState);

  return (
    <div className="chat-toolbar" role="toolbar" aria-label="Chat session">
      <ConnectionBadge conn={p.conn} onRetry={p.onRetry} />
      {!p.ended && !p.transcriptOnly && (
        <span className={`badge session-state state-${stateKey}`} data-testid="chat-session-state" data-state={stateKey}>
          {stateLabel}
        </span>
      )}
      <span className="toolbar-spacer" />
      {!p.transcriptOnly && (
        <>
          <form
            className="toolbar-field"
            onSubmit={(e) => {
              e.preventDefault();
              applyModel();
            }}
          >
            <label htmlFor={modelId} className="toolbar-label">
              Model
            </label>
            <input
              id={modelId}
              className="toolbar-model"
              list={listId}
              value={modelDraft}
              placeholder="default"
              disabled={!p.canControl}
              onFocus={() => setEditingModel(true)}
              onBlur={applyModel}
              onChange={(e) => setModelDraft(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  e.stopPropagation();
                  cancelModel.current = true;
                  setModelDraft(shownModel);
                  (e.target as HTMLInputElement).blur();
                }
              }}
              spellCheck={false}
              autoComplete="off"
              data-testid="model-input"
            />
            <datalist id={listId}>
              {p.models.map((m) => (
                <option key={m.value} value={m.value}>
                  {m.label !== m.value ? m.label : m.description ?? ''}
                </option>
              ))}
            </datalist>
          </form>
          <span className="toolbar-field">
            <label htmlFor={modeId} className="toolbar-label">
              Mode
            </label>
            <select
              id={modeId}
              value={mode}
              disabled={!p.canControl}
              onChange={(e) => {
                setPendingMode(e.target.value);
                p.onSetMode(e.target.value);
              }}
              data-testid="permission-mode"
            >
              {modes.map((m) => {
                // The server refuses it: shown (with why), not chosen; the current mode stays selectable.
                const refused = UNATTENDED_PERMISSION_MODES.includes(m) && !p.bypassAllowed && m !== mode;
                return (
                  <option key={m} value={m} disabled={refused} title={refused ? 'Turned off on this server (allow_bypass_permissions)' : undefined}>
                    {refused ? `${MODE_LABELS[m] ?? m} (off on this server)` : MODE_LABELS[m] ?? m}
                  </option>
                );
              })}
            </select>
          </span>
        </>
      )}
      <span
        className="badge session-cost"
        data-testid="session-cost"
        title={`${p.totals.turns} turn${p.totals.turns === 1 ? '' : 's'}: ${p.totals.input_tokens} input, ${p.totals.output_tokens} output tokens`}
      >
        {formatCost(p.totals.cost_usd)} · {formatTokens(p.totals.input_tokens + p.totals.output_tokens)} tok
      </span>
    </div>
  );
}
