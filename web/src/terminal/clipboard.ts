//! Copy and paste for the terminal through the async Clipboard API, which
//! browsers allow only in secure contexts (https, localhost).

/** Copies text; false when the browser refused. */
export async function copyText(text: string): Promise<boolean> {
  if (!text) return false;
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Reads the clipboard; null when the browser refused or cannot. */
export async function readText(): Promise<string | null> {
  if (!navigator.clipboard?.readText) return null;
  try {
    return await navigator.clipboard.readText();
  } catch {
    return null;
  }
}

/** Whether a key press is the terminal copy (Ctrl/⌘+Shift+C) or paste (…+V) shortcut. */
export function clipboardShortcut(ev: Pick<KeyboardEvent, 'type' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey' | 'code'>): 'copy' | 'paste' | null {
  if (ev.type !== 'keydown' || !ev.shiftKey || ev.altKey || !(ev.ctrlKey || ev.metaKey)) return null;
  if (ev.code === 'KeyC') return 'copy';
  if (ev.code === 'KeyV') return 'paste';
  return null;
}
