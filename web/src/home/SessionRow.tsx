//! One session in the list: what it is, where, how it is doing, and its
//! actions.

import { exportUrl } from '../api/client';
import { isLive, type SessionInfo } from '../api/types';
import { sessionHref } from '../router';
import { displayTitle } from '../session/actions';
import { AttentionBadge, ModeBadge, StateBadge } from '../session/badges';
import { Icon } from '../ui/icons';
import { absoluteTime, formatCost, formatTokens, relativeTime } from './format';

/** Props of `SessionRow`. */
interface SessionRowProps {
  session: SessionInfo;
  now: number;
  busy: boolean;
  onRename: () => void;
  onStop: () => void;
  onResume: () => void;
  onDelete: () => void;
}

/** A session card (a grid row on wide screens). */
export function SessionRow({ session: s, now, busy, onRename, onStop, onResume, onDelete }: SessionRowProps) {
  const live = isLive(s.state);
  const title = displayTitle(s);
  const tokens = s.usage.input_tokens + s.usage.output_tokens;
  return (
    <li
      className={`session-row${s.needs_attention ? ' attention' : ''}`}
      data-testid="session-row"
      data-session-id={s.id}
      data-state={s.state}
    >
      <div className="session-main">
        <a className="session-title" href={sessionHref(s.id)} data-testid="session-open">
          {title}
        </a>
        <div className="session-badges">
          <ModeBadge mode={s.mode} />
          <StateBadge session={s} />
          {s.needs_attention && <AttentionBadge />}
        </div>
        <div className="session-dir" title={s.working_dir}>
          <Icon name="folder" size={14} />
          <span className="mono">
            <bdi>{s.working_dir}</bdi>
          </span>
        </div>
      </div>
      <div className="session-meta">
        <span title={`${formatTokens(s.usage.input_tokens)} in, ${formatTokens(s.usage.output_tokens)} out`} data-testid="session-cost">
          {formatCost(s.usage.cost_usd)}
          {tokens > 0 && <span className="muted"> · {formatTokens(tokens)} tok</span>}
        </span>
        <span className="muted" title={absoluteTime(s.last_activity_at)}>
          {relativeTime(s.last_activity_at, now)}
        </span>
        {s.viewers > 0 && (
          <span className="muted" title="Browsers attached right now">
            <Icon name="eye" size={14} /> {s.viewers}
          </span>
        )}
      </div>
      <div className="session-actions">
        <button type="button" className="icon-button" aria-label={`Rename ${title}`} title="Rename" onClick={onRename} data-testid="session-rename">
          <Icon name="pencil" />
        </button>
        {live ? (
          <button type="button" className="icon-button" aria-label={`End session ${title}`} title="End session" onClick={onStop} disabled={busy} data-testid="session-stop">
            <Icon name="stop" />
          </button>
        ) : (
          <button type="button" className="icon-button" aria-label={`Resume ${title}`} title="Resume" onClick={onResume} disabled={busy} data-testid="session-resume">
            <Icon name="play" />
          </button>
        )}
        <a className="icon-button" href={exportUrl(s.id)} download aria-label={`Export ${title} as Markdown`} title="Export (Markdown)" data-testid="session-export">
          <Icon name="download" />
        </a>
        <button type="button" className="icon-button danger" aria-label={`Delete ${title}`} title="Delete" onClick={onDelete} disabled={busy} data-testid="session-delete">
          <Icon name="trash" />
        </button>
      </div>
    </li>
  );
}
