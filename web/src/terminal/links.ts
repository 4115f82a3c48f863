// Links printed by the program in the terminal (plain URLs and OSC 8
// hyperlinks) are untrusted: the agent may print whatever a prompt
// injection told it to. Only http(s) links open, in a new tab without
// access to this one; `javascript:`, `data:`, `file:` and the like do
// nothing.

/** Whether `uri` is an absolute http or https URL. */
export function isWebLink(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Opens `uri` in a new tab if it is a web link; otherwise does nothing. */
export function openWebLink(uri: string, open: (url: string, target: string, features: string) => unknown = window.open.bind(window)): boolean {
  if (!isWebLink(uri)) return false;
  open(uri, '_blank', 'noopener,noreferrer');
  return true;
}
