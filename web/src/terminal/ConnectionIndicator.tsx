//! The terminal socket's state as a small pill: connecting, connected,
//! reconnecting (with a countdown and "retry now"), ended, failed.

import { useEffect, useState } from 'react';
import type { ConnectionStatus } from './connection';

/** Props of `ConnectionIndicator`. */
interface Props {
  status: ConnectionStatus;
  /** The process exited (the socket then ends normally). */
  exited: boolean;
  onRetry: () => void;
}

/** The pill. */
export function ConnectionIndicator({ status, exited, onRetry }: Props) {
  const [deadline, setDeadline] = useState<number | null>(null);
  const [, tick] = useState(0);

  useEffect(() => {
    setDeadline(status.state === 'reconnecting' && status.retryInMs != null ? Date.now() + status.retryInMs : null);
  }, [status]);

  useEffect(() => {
    if (deadline === null) return;
    const id = window.setInterval(() => tick((n) => n + 1), 500);
    return () => window.clearInterval(id);
  }, [deadline]);

  let text: string;
  switch (status.state) {
    case 'connecting':
      text = 'Connecting…';
      break;
    case 'connected':
      text = 'Connected';
      break;
    case 'reconnecting': {
      const secs = deadline ? Math.max(0, Math.ceil((deadline - Date.now()) / 1000)) : 0;
      text = secs > 0 ? `Reconnecting in ${secs} s…` : 'Reconnecting…';
      break;
    }
    case 'ended':
      text = exited ? 'Session ended' : 'Disconnected';
      break;
    case 'failed':
      text = status.message ? `Not connected: ${status.message}` : 'Not connected';
      break;
  }

  return (
    <span className={`conn conn-${status.state}`} data-testid="connection-state" data-state={status.state} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      <span>{text}</span>
      {status.state === 'reconnecting' && (
        <button type="button" className="link-button" onClick={onRetry}>
          Retry now
        </button>
      )}
    </span>
  );
}
