//! The new-session dialog: directory, mode, title, model, permission mode,
//! and optionally an earlier conversation to continue.

import { type FormEvent, useState } from 'react';
import { api, ApiError } from '../api/client';
import { useServerPolicy } from '../api/serverPolicy';
import { PERMISSION_MODES, type PermissionMode, type SessionInfo, type SessionMode } from '../api/types';
import { UNATTENDED_PERMISSION_MODES } from '../chat/protocol';
import { Modal } from '../ui/Modal';
import { Icon } from '../ui/icons';
import { type DirChoice, DirPicker } from './DirPicker';
import { HistoryPicker } from './HistoryPicker';
import { useSessions } from './sessionsStore';

const LAST_DIR_KEY = 'ccweb.lastDir';
const LAST_MODE_KEY = 'ccweb.lastMode';

const PERMISSION_TEXT: Record<PermissionMode, string> = {
  default: 'Default — ask before edits and commands',
  acceptEdits: 'Accept edits — ask only for commands',
  plan: 'Plan — read-only until a plan is approved',
  bypassPermissions: 'Bypass permissions — never ask (not as root)',
  dontAsk: 'Don’t ask — deny what is not allowed',
  auto: 'Auto',
};

/** Model names the CLI knows as aliases; any other name can be typed. */
const MODEL_SUGGESTIONS = ['sonnet', 'opus', 'haiku', 'opusplan'];

function remembered(key: string): string {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return '';
  }
}

function remember(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode: nothing to remember.
  }
}

/** Text for a failed start, naming what to fix. */
export function createErrorText(e: unknown): string {
  if (!(e instanceof ApiError)) return String(e);
  switch (e.code) {
    case 'path_not_allowed':
      return 'That directory is outside the allowed roots.';
    case 'invalid_working_dir':
      return `Working directory: ${e.message}`;
    case 'invalid_model':
      return `Model: ${e.message}`;
    case 'at_capacity':
      return 'The server runs as many sessions as it may. End one and try again.';
    case 'not_found':
      return 'That conversation cannot be continued here (it was not found for this directory).';
    case 'credential_required':
      return 'This server needs your own Claude credential: set an Anthropic API key or a Claude subscription token on the Account page.';
    case 'credential_unreadable':
      return 'Your stored Claude credential can no longer be read: set it again on the Account page.';
    default:
      return e.message;
  }
}

/** Props of `NewSessionDialog`. */
interface NewSessionDialogProps {
  onClose: () => void;
  onCreated: (s: SessionInfo) => void;
}

/** The dialog. */
export function NewSessionDialog({ onClose, onCreated }: NewSessionDialogProps) {
  const { upsert } = useSessions();
  // The directory shown first; `dir` then follows the picker's field.
  const [initialDir] = useState(() => remembered(LAST_DIR_KEY));
  const [dir, setDir] = useState<DirChoice>({ path: initialDir, listed: null });
  const [mode, setMode] = useState<SessionMode>(() => (remembered(LAST_MODE_KEY) === 'chat' ? 'chat' : 'terminal'));
  const [title, setTitle] = useState('');
  const [model, setModel] = useState('');
  const [permissionMode, setPermissionMode] = useState<PermissionMode>('default');
  const [resume, setResume] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Unknown until the server says: not offered meanwhile.
  const policy = useServerPolicy();
  const bypassAllowed = policy?.allow_bypass_permissions === true;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!dir.path) {
      setError('Choose a working directory.');
      return;
    }
    // Enter in another field submits too: only a directory the server listed.
    if (dir.listed === null) return;
    setBusy(true);
    setError(null);
    try {
      const s = await api.createSession({
        mode,
        // The field's text, as typed: what the user sees is where it runs.
        working_dir: dir.path,
        title: title.trim() || undefined,
        model: model.trim() || undefined,
        permission_mode: permissionMode === 'default' ? undefined : permissionMode,
        resume: resume || undefined,
      });
      remember(LAST_DIR_KEY, s.working_dir);
      remember(LAST_MODE_KEY, mode);
      upsert(s);
      onCreated(s);
    } catch (err) {
      setError(createErrorText(err));
      setBusy(false);
    }
  }

  return (
    <Modal
      title="New session"
      onClose={onClose}
      wide
      testId="new-session-dialog"
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="new-session-form" className="button button-primary" disabled={busy || dir.listed === null} data-testid="new-session-submit">
            {busy ? 'Starting…' : resume ? 'Continue conversation' : 'Start session'}
          </button>
        </>
      }
    >
      <form id="new-session-form" className="stack" onSubmit={submit}>
        <fieldset className="field">
          <legend>Working directory</legend>
          <DirPicker value={initialDir} onChange={setDir} />
        </fieldset>

        <fieldset className="field">
          <legend>Mode</legend>
          <div className="mode-choice" role="radiogroup" aria-label="Mode">
            <label className={`mode-option${mode === 'terminal' ? ' active' : ''}`}>
              <input type="radio" name="mode" value="terminal" checked={mode === 'terminal'} onChange={() => setMode('terminal')} data-testid="new-session-mode-terminal" />
              <Icon name="terminal" />
              <span>
                <strong>Terminal</strong>
                <small className="muted">The full Claude Code CLI</small>
              </span>
            </label>
            <label className={`mode-option${mode === 'chat' ? ' active' : ''}`}>
              <input type="radio" name="mode" value="chat" checked={mode === 'chat'} onChange={() => setMode('chat')} data-testid="new-session-mode-chat" />
              <Icon name="chat" />
              <span>
                <strong>Chat</strong>
                <small className="muted">Conversation view, permission dialogs</small>
              </span>
            </label>
          </div>
        </fieldset>

        <div className="field-row">
          <label className="field">
            <span>Title (optional)</span>
            <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} placeholder="Defaults to the directory name" data-testid="new-session-title" />
          </label>
          <label className="field">
            <span>Model (optional)</span>
            <input
              value={model}
              onChange={(e) => setModel(e.target.value)}
              list="model-suggestions"
              placeholder="CLI default"
              spellCheck={false}
              autoCapitalize="none"
              data-testid="new-session-model"
            />
            <datalist id="model-suggestions">
              {MODEL_SUGGESTIONS.map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          </label>
        </div>

        <label className="field">
          <span>Permission mode</span>
          <select value={permissionMode} onChange={(e) => setPermissionMode(e.target.value as PermissionMode)} data-testid="new-session-permission-mode">
            {PERMISSION_MODES.map((m) => (
              <option key={m} value={m} disabled={UNATTENDED_PERMISSION_MODES.includes(m) && !bypassAllowed}>
                {UNATTENDED_PERMISSION_MODES.includes(m) && !bypassAllowed ? `${PERMISSION_TEXT[m]} (off on this server)` : PERMISSION_TEXT[m]}
              </option>
            ))}
          </select>
          {policy && !bypassAllowed && (
            <small className="muted" data-testid="bypass-unavailable">
              Bypass permissions and Auto are turned off on this server (setting <code>allow_bypass_permissions</code>).
            </small>
          )}
        </label>

        <fieldset className="field">
          <legend>
            <Icon name="history" size={16} /> Continue an earlier conversation
          </legend>
          <HistoryPicker workingDir={dir.listed ?? ''} value={resume} onChange={setResume} />
        </fieldset>

        {error && (
          <p className="form-error" role="alert" data-testid="new-session-error">
            {error}
          </p>
        )}
      </form>
    </Modal>
  );
}
