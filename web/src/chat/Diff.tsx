// Diffs for Edit / MultiEdit / Write tool calls.

import { useMemo, useState } from 'react';
import { structuredPatch } from 'diff';
import { isObj, shortPath } from './format';

export interface Hunk {
  oldStart: number;
  newStart: number;
  lines: string[];
}

/** Hunks turning `oldText` into `newText`, with line numbers from 1 (or `startLine`). */
export function diffHunks(oldText: string, newText: string, context = 3): Hunk[] {
  const patch = structuredPatch('a', 'b', oldText, newText, '', '', { context });
  return patch.hunks.map((h) => ({
    oldStart: h.oldStart,
    newStart: h.newStart,
    lines: h.lines.filter((l) => !l.startsWith('\\')),
  }));
}

/** Hunks of the CLI's structured result (`structuredPatch`), when it has them. */
export function structuredHunks(structured: unknown): Hunk[] | null {
  if (!isObj(structured) || !Array.isArray(structured.structuredPatch)) return null;
  const out: Hunk[] = [];
  for (const h of structured.structuredPatch) {
    if (!isObj(h) || !Array.isArray(h.lines)) continue;
    out.push({
      oldStart: typeof h.oldStart === 'number' ? h.oldStart : 1,
      newStart: typeof h.newStart === 'number' ? h.newStart : 1,
      lines: h.lines.filter((l): l is string => typeof l === 'string' && !l.startsWith('\\')),
    });
  }
  return out.length ? out : null;
}

/** A whole new file: every line added. */
export function additionHunk(content: string): Hunk[] {
  const lines = content.replace(/\n$/, '').split('\n');
  return [{ oldStart: 0, newStart: 1, lines: lines.map((l) => `+${l}`) }];
}

const MAX_LINES = 400;

interface Row {
  kind: 'add' | 'del' | 'ctx' | 'gap';
  oldNo?: number;
  newNo?: number;
  text: string;
}

function rows(hunks: Hunk[]): Row[] {
  const out: Row[] = [];
  hunks.forEach((h, i) => {
    if (i > 0) out.push({ kind: 'gap', text: '⋯' });
    let o = h.oldStart;
    let n = h.newStart;
    for (const l of h.lines) {
      const sign = l[0];
      const text = l.slice(1);
      if (sign === '+') out.push({ kind: 'add', newNo: n++, text });
      else if (sign === '-') out.push({ kind: 'del', oldNo: o++, text });
      else out.push({ kind: 'ctx', oldNo: o++, newNo: n++, text });
    }
  });
  return out;
}

/**
 * A diff. `numbered: false` hides the line numbers: an edit's `old_string`
 * does not say where in the file it is, and numbers from 1 would be wrong.
 */
export function DiffView({ hunks, title, numbered = true }: { hunks: Hunk[]; title?: string; numbered?: boolean }) {
  const [all, setAll] = useState(false);
  const allRows = useMemo(() => rows(hunks), [hunks]);
  const shown = all ? allRows : allRows.slice(0, MAX_LINES);
  const added = allRows.filter((r) => r.kind === 'add').length;
  const removed = allRows.filter((r) => r.kind === 'del').length;
  return (
    <div className={numbered ? 'diff' : 'diff diff-unnumbered'} data-testid="diff" data-numbered={numbered}>
      <div className="diff-head">
        {title && (
          <span className="diff-title" title={title}>
            {shortPath(title, 70)}
          </span>
        )}
        <span className="diff-stat">
          <span className="diff-stat-add">+{added}</span> <span className="diff-stat-del">−{removed}</span>
        </span>
      </div>
      <div className="diff-body" role="table" aria-label={title ? `Changes to ${title}` : 'Changes'}>
        {shown.map((r, i) => (
          <div key={i} className={`diff-row diff-${r.kind}`} role="row">
            {numbered && (
              <>
                <span className="diff-no" aria-hidden="true">
                  {r.oldNo ?? ''}
                </span>
                <span className="diff-no" aria-hidden="true">
                  {r.newNo ?? ''}
                </span>
              </>
            )}
            <span className="diff-sign" aria-hidden="true">
              {r.kind === 'add' ? '+' : r.kind === 'del' ? '−' : ' '}
            </span>
            <span className="diff-text" role="cell">
              {r.kind === 'add' && <span className="sr-only">added: </span>}
              {r.kind === 'del' && <span className="sr-only">removed: </span>}
              {r.text || ' '}
            </span>
          </div>
        ))}
      </div>
      {allRows.length > shown.length && (
        <button type="button" className="link-button" onClick={() => setAll(true)}>
          Show all {allRows.length} lines
        </button>
      )}
    </div>
  );
}

/** A snippet's hunks moved to `line` of the file (unnumbered when it is not known). */
function placed(title: string, hunks: Hunk[], line: number | null | undefined): EditDiff {
  if (typeof line !== 'number' || line < 1) return { title, hunks, numbered: false };
  const shift = line - 1;
  return { title, hunks: hunks.map((h) => ({ ...h, oldStart: h.oldStart + shift, newStart: h.newStart + shift })), numbered: true };
}

/** One file's diff of an edit; `numbered` when its line numbers are the file's. */
export interface EditDiff {
  title: string;
  hunks: Hunk[];
  numbered: boolean;
}

/**
 * The edits of an Edit / MultiEdit / Write input, as hunks with a title.
 * The CLI's result (`structuredPatch`) knows where an edit sits in the file;
 * before it, a permission request's `edit_lines` may (the server had the CLI
 * read the file). Without either, an Edit's diff has no line numbers (a
 * Write's new content starts at line 1).
 */
export function editHunks(
  name: string,
  input: Record<string, unknown>,
  structured?: unknown,
  editLines: (number | null)[] = [],
): EditDiff[] | null {
  const path = typeof input.file_path === 'string' ? input.file_path : '';
  const fromResult = structured !== undefined ? structuredHunks(structured) : null;
  if (fromResult && (name === 'Edit' || name === 'MultiEdit' || name === 'Write')) {
    return [{ title: path, hunks: fromResult, numbered: true }];
  }
  if (name === 'Edit' && typeof input.old_string === 'string' && typeof input.new_string === 'string') {
    return [placed(path, diffHunks(input.old_string, input.new_string), editLines[0])];
  }
  if (name === 'MultiEdit' && Array.isArray(input.edits)) {
    const out: EditDiff[] = [];
    input.edits.forEach((e, i) => {
      if (isObj(e) && typeof e.old_string === 'string' && typeof e.new_string === 'string') {
        out.push(placed(`${path} — edit ${i + 1} of ${(input.edits as unknown[]).length}`, diffHunks(e.old_string, e.new_string), editLines[i]));
      }
    });
    return out.length ? out : null;
  }
  if (name === 'Write' && typeof input.content === 'string') {
    return [{ title: path, hunks: additionHunk(input.content), numbered: true }];
  }
  return null;
}
