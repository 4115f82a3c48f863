//! Pure checks of the user form, mirroring the server's rules.

/** User names the server accepts. */
const USER_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** The server's shortest password. */
export const MIN_PASSWORD_CHARS = 8;

/** Why a new user's name would be refused, or null. */
export function userNameProblem(name: string): string | null {
  if (!name) return 'Enter a name.';
  if (USER_NAME.test(name)) return null;
  return 'Lower-case letters, digits, “_”, “.” and “-”, starting with a letter or digit, at most 64.';
}

/** Why a password would be refused, or null; empty is allowed when `optional`. */
export function passwordProblem(password: string, optional = false): string | null {
  if (!password) return optional ? null : 'Enter a password.';
  if ([...password].length < MIN_PASSWORD_CHARS) return `At least ${MIN_PASSWORD_CHARS} characters.`;
  return null;
}
