import type { SlashCommand } from './state';

/**
 * Commands matching a prompt that is a slash command being typed ("/com"),
 * prefix matches first; null when the text is not one.
 */
export function matchCommands(commands: SlashCommand[], text: string): SlashCommand[] | null {
  const m = /^\/(\S*)$/.exec(text);
  if (!m) return null;
  const q = m[1].toLowerCase();
  const starts: SlashCommand[] = [];
  const contains: SlashCommand[] = [];
  for (const c of commands) {
    const n = c.name.toLowerCase();
    if (n.startsWith(q)) starts.push(c);
    else if (q && (n.includes(q) || (c.description ?? '').toLowerCase().includes(q))) contains.push(c);
  }
  return [...starts, ...contains];
}
