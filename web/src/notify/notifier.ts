//! Desktop notifications through the Notification API: the user's opt-in
//! (asked from a click, as browsers require), and showing a notice only
//! while the tab is hidden.

import type { SessionNotice } from './transitions';

const PREF_KEY = 'ccweb.notifications';

/** Whether this browser can show notifications at all. */
export function notificationsSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

/** Whether the user turned notifications on here and the browser allows them. */
export function notificationsEnabled(): boolean {
  if (!notificationsSupported() || Notification.permission !== 'granted') return false;
  try {
    return localStorage.getItem(PREF_KEY) !== 'off';
  } catch {
    return true;
  }
}

/** Turns notifications on (asking for permission: call from a click) or off. */
export async function setNotificationsEnabled(on: boolean): Promise<boolean> {
  if (!notificationsSupported()) return false;
  try {
    localStorage.setItem(PREF_KEY, on ? 'on' : 'off');
  } catch {
    // Without storage the browser permission alone decides.
  }
  if (!on) return false;
  if (Notification.permission === 'granted') return true;
  if (Notification.permission === 'denied') return false;
  const answer = await Notification.requestPermission();
  return answer === 'granted';
}

/** Shows a notice if the tab is hidden; a click focuses the tab and opens the session. */
export function showNotice(notice: SessionNotice, open: (sessionId: string) => void): void {
  if (!notificationsEnabled() || document.visibilityState === 'visible') return;
  const prefix = notice.kind === 'needs_attention' ? 'Needs attention' : notice.kind === 'ended' ? 'Session ended' : 'Turn finished';
  try {
    const n = new Notification(`${prefix}: ${notice.title}`, {
      body: notice.body,
      // One notification per session and kind: a newer one replaces it.
      tag: `ccweb-${notice.sessionId}-${notice.kind}`,
      icon: new URL('icon-192.png', document.baseURI).toString(),
    });
    n.onclick = () => {
      window.focus();
      open(notice.sessionId);
      n.close();
    };
  } catch {
    // Some mobile browsers allow notifications only from a service worker.
  }
}
