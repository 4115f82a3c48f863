//! Pure checks and wording of the password forms (the user's own, the
//! first-password prompt), mirroring the server's rules.

import { ApiError, errorMessage } from '../api/client';
import { passwordProblem } from '../admin/users';
import { formatWait } from '../auth/LoginPage';

/** What the password form holds. */
export interface PasswordFields {
  /** Whether the user has a password now (then the current one is needed). */
  hasPassword: boolean;
  current: string;
  next: string;
  confirm: string;
}

/** Why the form cannot be sent yet, or null. */
export function passwordFormProblem(f: PasswordFields): string | null {
  if (f.hasPassword && !f.current) return 'Enter your current password.';
  const problem = passwordProblem(f.next);
  if (problem) return problem === 'Enter a password.' ? 'Enter a new password.' : `New password: ${problem.toLowerCase()}`;
  if (f.next !== f.confirm) return 'The two new passwords differ.';
  return null;
}

/** The server's refusal of a password change, in words a user can act on. */
export function passwordErrorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'wrong_password') return 'The current password is wrong.';
    if (e.code === 'current_password_required') return 'Enter your current password.';
    if (e.status === 429) {
      return e.retryAfterSecs != null ? `Too many wrong passwords. Try again in ${formatWait(e.retryAfterSecs)}.` : 'Too many wrong passwords. Wait a moment and try again.';
    }
  }
  return errorMessage(e);
}

/** The toast after a change: what else it did. */
export function passwordChangedText(ended: number, first: boolean): string {
  const what = first ? 'Password set.' : 'Password changed.';
  if (ended === 0) return what;
  return `${what} ${ended} other login${ended === 1 ? '' : 's'} signed out.`;
}
