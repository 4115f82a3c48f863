// Small formatting helpers shared by the chat components.

export function formatCost(usd: number): string {
  if (!Number.isFinite(usd) || usd <= 0) return '$0.00';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  if (usd < 1) return `$${usd.toFixed(3)}`;
  return `$${usd.toFixed(2)}`;
}

export function formatTokens(n: number): string {
  if (!Number.isFinite(n)) return '0';
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(2)}M`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min${s ? ` ${s} s` : ''}`;
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The text of a tool result's content (a string or content blocks). */
export function contentText(content: unknown): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((b) => {
        if (typeof b === 'string') return b;
        if (isObj(b)) {
          if (b.type === 'text' && typeof b.text === 'string') return b.text;
          if (b.type === 'image') return '[image]';
        }
        return JSON.stringify(b);
      })
      .join('\n');
  }
  return JSON.stringify(content, null, 2);
}

export function prettyJson(v: unknown): string {
  try {
    return JSON.stringify(v, null, 2) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Shortens a path for a card header (keeps the end). */
export function shortPath(p: string, max = 60): string {
  if (p.length <= max) return p;
  return `…${p.slice(p.length - max + 1)}`;
}

/** A one-line summary of a tool call for its card header. */
export function toolSummary(name: string, input: Record<string, unknown>): string {
  const s = (k: string) => str(input[k]);
  switch (name) {
    case 'Bash':
      return s('command') ?? '';
    case 'Read':
    case 'Write':
    case 'Edit':
    case 'MultiEdit':
    case 'NotebookEdit':
      return shortPath(s('file_path') ?? s('notebook_path') ?? '');
    case 'Glob':
      return [s('pattern'), s('path') && `in ${shortPath(s('path')!, 40)}`].filter(Boolean).join(' ');
    case 'Grep':
      return [s('pattern') && `"${s('pattern')}"`, s('glob') ?? s('type'), s('path') && `in ${shortPath(s('path')!, 40)}`]
        .filter(Boolean)
        .join(' ');
    case 'LS':
      return shortPath(s('path') ?? '');
    case 'WebFetch':
      return s('url') ?? '';
    case 'WebSearch':
      return s('query') ?? '';
    case 'Task':
    case 'Agent':
      return [s('subagent_type'), s('description')].filter(Boolean).join(': ');
    case 'TodoWrite':
      return Array.isArray(input.todos) ? `${input.todos.length} item${input.todos.length === 1 ? '' : 's'}` : '';
    case 'Skill':
      return s('skill') ?? s('command') ?? '';
    case 'BashOutput':
    case 'KillShell':
    case 'KillBash':
      return s('bash_id') ?? s('shell_id') ?? '';
    default: {
      for (const k of ['description', 'command', 'path', 'file_path', 'url', 'query', 'pattern', 'prompt']) {
        const v = s(k);
        if (v) return v.length > 100 ? `${v.slice(0, 100)}…` : v;
      }
      return '';
    }
  }
}

/** `mcp__server__tool` → `server · tool`. */
export function toolLabel(name: string): string {
  const m = /^mcp__(.+?)__(.+)$/.exec(name);
  return m ? `${m[1]} · ${m[2]}` : name;
}
