//! Rename, delete and end-session dialogs, shared by the list and the
//! session page.

import { type FormEvent, useState } from 'react';
import type { SessionInfo } from '../api/types';
import { ConfirmDialog, Modal } from '../ui/Modal';
import { displayTitle, titleProblem } from './actions';

/** Asks for a new title. */
export function RenameDialog({
  session,
  onRename,
  onClose,
}: {
  session: SessionInfo;
  onRename: (title: string) => Promise<unknown>;
  onClose: () => void;
}) {
  const [title, setTitle] = useState(session.title);
  const [busy, setBusy] = useState(false);
  const problem = titleProblem(title);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (problem) return;
    setBusy(true);
    const result = await onRename(title.trim());
    setBusy(false);
    if (result) onClose();
  }

  return (
    <Modal title="Rename session" onClose={onClose} testId="rename-dialog">
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span>Title</span>
          <input
            value={title}
            onChange={(e) => setTitle(e.target.value)}
            maxLength={200}
            autoFocus
            onFocus={(e) => e.currentTarget.select()}
            data-testid="rename-input"
          />
        </label>
        {problem && title !== session.title && <p className="form-error">{problem}</p>}
        <div className="modal-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={!!problem || busy} data-testid="rename-submit">
            Rename
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Confirms deleting a session and its transcript. */
export function DeleteDialog({
  session,
  onDelete,
  onClose,
}: {
  session: SessionInfo;
  onDelete: () => Promise<boolean>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <ConfirmDialog
      title="Delete session?"
      danger
      busy={busy}
      confirmLabel="Delete"
      message={
        <>
          <p>
            <strong>{displayTitle(session)}</strong> and its transcript will be deleted for good
            {session.state === 'running' || session.state === 'starting' ? '; the running process is stopped first' : ''}.
          </p>
          <p className="muted">Claude Code’s own conversation file stays on disk, so it can still be continued from a new session.</p>
        </>
      }
      onCancel={onClose}
      onConfirm={async () => {
        setBusy(true);
        const ok = await onDelete();
        setBusy(false);
        if (ok) onClose();
      }}
    />
  );
}

/** Confirms ending a session while Claude works on a turn. */
export function EndSessionDialog({
  stillRunning,
  onEnd,
  onClose,
}: {
  /** A turn is still running (it may have ended while the dialog was open). */
  stillRunning: boolean;
  onEnd: () => Promise<boolean>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <ConfirmDialog
      title="End session?"
      danger
      busy={busy}
      confirmLabel="End session"
      message={
        <>
          <p>{stillRunning ? 'A turn is running. End the session anyway?' : 'End the session?'}</p>
          <p className="muted">Claude Code is stopped; the transcript stays and you can resume the session later.</p>
        </>
      }
      onCancel={onClose}
      onConfirm={async () => {
        setBusy(true);
        const ok = await onEnd();
        setBusy(false);
        if (ok) onClose();
      }}
    />
  );
}
