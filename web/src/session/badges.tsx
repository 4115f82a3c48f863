//! Small labels shared by the list and the session page: state, mode,
//! "needs attention".

import type { SessionInfo } from '../api/types';
import { Icon } from '../ui/icons';

const STATE_TEXT: Record<string, string> = {
  starting: 'Starting',
  running: 'Running',
  exited: 'Exited',
  stopped: 'Stopped',
  failed: 'Failed',
};

/** The state, with the exit code or end reason as its tooltip. */
export function StateBadge({ session }: { session: SessionInfo }) {
  const detail = [
    session.exit_code != null ? `exit code ${session.exit_code}` : null,
    session.end_reason ? `reason: ${session.end_reason.replace(/_/g, ' ')}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <span
      className={`badge state-${session.state}`}
      title={detail || undefined}
      data-testid="session-state"
      data-state={session.state}
    >
      <span className="dot" aria-hidden="true" />
      {STATE_TEXT[session.state] ?? session.state}
    </span>
  );
}

/** Terminal or chat. */
export function ModeBadge({ mode }: { mode: SessionInfo['mode'] }) {
  return (
    <span className="badge badge-mode" data-testid="session-mode">
      <Icon name={mode === 'chat' ? 'chat' : 'terminal'} size={14} />
      {mode === 'chat' ? 'Chat' : 'Terminal'}
    </span>
  );
}

/** Shown while a permission request or question waits. */
export function AttentionBadge() {
  return (
    <span className="badge badge-attention" data-testid="needs-attention">
      <Icon name="alert" size={14} />
      Needs attention
    </span>
  );
}
