//! One session in the list: what it is (named by its title or first
//! prompt), what it is doing, the last message, where, and its actions.

import { exportUrl } from '../api/client';
import { isLive, type SessionInfo } from '../api/types';
import { sessionHref } from '../router';
import { displayTitle } from '../session/actions';
import { ModeBadge, StateBadge } from '../session/badges';
import { Icon } from '../ui/icons';
import { absoluteTime, formatCost, formatTokens, relativeTime } from './format';
import { ACTIVITY_TEXT, activityOf } from './sessionList';

/** Props of `SessionRow`. */
interface SessionRowProps {
  session: SessionInfo;
  now: number;
  busy: boolean;
  /** Show whose session it is (the admins' all-sessions view). */
  showOwner?: boolean;
  /** Open it read-only (someone else's session). */
  watch?: boolean;
  /** Actions offered; those left out are not shown. */
  onRename?: () => void;
  onStop?: () => void;
  onResume?: () => void;
  onDelete?: () => void;
}

/** What the session is doing, in words; an ended one says how it ended. */
export function ActivityBadge({ session: s }: { session: SessionInfo }) {
  const activity = activityOf(s);
  if (activity === 'ended') return <StateBadge session={s} />;
  return (
    <span className={`badge activity-${activity}`} data-testid="session-activity" data-activity={activity}>
      {activity === 'needs_answer' ? <Icon name="alert" size={14} /> : <span className="dot" aria-hidden="true" />}
      {ACTIVITY_TEXT[activity]}
    </span>
  );
}

/** A session card (a grid row on wide screens). */
export function SessionRow({ session: s, now, busy, showOwner, watch, onRename, onStop, onResume, onDelete }: SessionRowProps) {
  const live = isLive(s.state);
  const title = displayTitle(s);
  const tokens = s.usage.input_tokens + s.usage.output_tokens;
  const activity = activityOf(s);
  return (
    <li
      className={`session-row${activity === 'needs_answer' ? ' attention' : ''}`}
      data-testid="session-row"
      data-session-id={s.id}
      data-state={s.state}
      data-activity={activity}
    >
      <div className="session-main">
        <a className="session-title" href={sessionHref(s.id, { readonly: watch })} title={s.first_prompt ?? title} data-testid="session-open">
          {title}
        </a>
        <div className="session-badges">
          <ActivityBadge session={s} />
          <ModeBadge mode={s.mode} />
          {showOwner && (
            <span className="badge" title="Owner" data-testid="session-owner">
              <Icon name="user" size={14} />
              {s.owner}
            </span>
          )}
        </div>
        {s.preview && (
          <p className="session-preview" data-testid="session-preview">
            <span className="muted">{s.preview.role === 'user' ? 'You: ' : 'Claude: '}</span>
            {s.preview.text}
          </p>
        )}
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
        <span className="muted" title={`Last activity ${absoluteTime(s.last_activity_at)}`} data-testid="session-time">
          {relativeTime(s.last_activity_at, now)}
        </span>
        {s.viewers > 0 && (
          <span className="muted" title="Browsers attached right now">
            <Icon name="eye" size={14} /> {s.viewers}
          </span>
        )}
      </div>
      <div className="session-actions">
        {watch && (
          <a className="icon-button" href={sessionHref(s.id, { readonly: true })} aria-label={`Watch ${title}`} title="Watch (read-only)" data-testid="session-watch">
            <Icon name="eye" />
          </a>
        )}
        {onRename && (
          <button type="button" className="icon-button" aria-label={`Rename ${title}`} title="Rename" onClick={onRename} data-testid="session-rename">
            <Icon name="pencil" />
          </button>
        )}
        {live && onStop && (
          <button type="button" className="icon-button" aria-label={`End session ${title}`} title="End session" onClick={onStop} disabled={busy} data-testid="session-stop">
            <Icon name="power" />
          </button>
        )}
        {!live && onResume && (
          <button type="button" className="icon-button" aria-label={`Resume ${title}`} title="Resume" onClick={onResume} disabled={busy} data-testid="session-resume">
            <Icon name="play" />
          </button>
        )}
        <a className="icon-button" href={exportUrl(s.id)} download aria-label={`Export ${title} as Markdown`} title="Export (Markdown)" data-testid="session-export">
          <Icon name="download" />
        </a>
        {onDelete && (
          <button type="button" className="icon-button danger" aria-label={`Delete ${title}`} title="Delete" onClick={onDelete} disabled={busy} data-testid="session-delete">
            <Icon name="trash" />
          </button>
        )}
      </div>
    </li>
  );
}
