//! Asks a user without a password to set one — the first admin, logged in
//! by the one-time link, is otherwise locked out after signing out. "Not
//! now" hides it for this browser tab's session; it comes back on the next
//! login until a password is set (the account page can always set one).

import type { MeResponse, User } from '../api/types';
import { Modal } from '../ui/Modal';
import { useToasts } from '../ui/toasts';
import { passwordChangedText } from './password';
import { PasswordForm } from './PasswordForm';

/** sessionStorage key: the prompt was put off in this tab. */
const DISMISSED_KEY = 'ccweb.password-prompt-dismissed';

/** Whether to ask `me` to set a password now. */
export function shouldPromptForPassword(me: MeResponse, storage: Pick<Storage, 'getItem'> | null = safeSessionStorage()): boolean {
  if (me.user.has_password || !me.can_set_password) return false;
  return storage?.getItem(DISMISSED_KEY) !== me.user.name;
}

function safeSessionStorage(): Storage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

/** Props of `SetPasswordPrompt`. */
interface SetPasswordPromptProps {
  user: User;
  onSaved: (user: User) => void;
  onClose: () => void;
}

/** The prompt. */
export function SetPasswordPrompt({ user, onSaved, onClose }: SetPasswordPromptProps) {
  const toasts = useToasts();
  const later = () => {
    try {
      sessionStorage.setItem(DISMISSED_KEY, user.name);
    } catch {
      // Storage disabled: it asks again on the next load.
    }
    onClose();
  };
  return (
    <Modal title="Set a password" onClose={later} testId="set-password-prompt">
      <p className="muted">
        You are signed in as <strong>{user.name}</strong> without a password. Set one now so you can sign in again after you sign out: the one-time link you used works
        only once.
      </p>
      <PasswordForm
        user={user}
        autoFocus
        cancelLabel="Not now"
        onCancel={later}
        onSaved={(u, ended) => {
          toasts.info(passwordChangedText(ended, true));
          onSaved(u);
        }}
      />
    </Modal>
  );
}
