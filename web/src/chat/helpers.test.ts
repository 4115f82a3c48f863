// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { additionHunk, diffHunks, editHunks, structuredHunks } from './Diff';
import { contentText, formatCost, formatDuration, formatTokens, toolLabel, toolSummary } from './format';
import { highlightCode, languageForPath } from './highlight';
import { bytesToBase64, checkImage, MAX_IMAGE_BYTES, messageBytes } from './images';
import { answerText, describeSuggestion, parseQuestions } from './PermissionDialog';
import { matchCommands } from './slash';
import { toolStatus } from './ToolCard';
import type { PermissionEntry, ToolResultEntry } from './state';
import { permissionOutcome } from './Transcript';

describe('matchCommands', () => {
  const cmds = [
    { name: 'compact', description: 'Clear history but keep a summary' },
    { name: 'context', description: 'Show context usage' },
    { name: 'cost' },
    { name: 'review', description: 'Review a pull request' },
  ];
  it('is null unless a command name is being typed', () => {
    expect(matchCommands(cmds, 'hello')).toBeNull();
    expect(matchCommands(cmds, '/compact now')).toBeNull();
    expect(matchCommands(cmds, ' /c')).toBeNull();
  });
  it('lists all for a bare slash, prefix matches first', () => {
    expect(matchCommands(cmds, '/')?.map((c) => c.name)).toEqual(['compact', 'context', 'cost', 'review']);
    expect(matchCommands(cmds, '/co')?.map((c) => c.name)).toEqual(['compact', 'context', 'cost']);
    expect(matchCommands(cmds, '/pull')?.map((c) => c.name)).toEqual(['review']);
    expect(matchCommands(cmds, '/zzz')).toEqual([]);
  });
});

describe('question answers', () => {
  const input = {
    questions: [
      { question: 'Which database?', header: 'DB', multiSelect: false, options: [{ label: 'SQLite' }, { label: 'Postgres', description: 'server' }] },
      { question: 'Which features?', header: 'Features', multiSelect: true, options: [{ label: 'Auth' }, { label: 'Search' }, { label: 'Backups' }] },
      { bogus: true },
    ],
  };
  const [single, multi] = parseQuestions(input);
  it('parses questions defensively', () => {
    expect(parseQuestions(input)).toHaveLength(3);
    expect(single).toMatchObject({ question: 'Which database?', header: 'DB', multiSelect: false });
    expect(single.options[1]).toEqual({ label: 'Postgres', description: 'server' });
    expect(parseQuestions({})).toEqual([]);
  });
  it('single choice: the label, or the Other text', () => {
    expect(answerText(single, { selected: ['SQLite'], other: false, otherText: '' })).toBe('SQLite');
    expect(answerText(single, { selected: [], other: true, otherText: ' DuckDB ' })).toBe('DuckDB');
    expect(answerText(single, { selected: [], other: true, otherText: '  ' })).toBe('');
  });
  it('multi choice: comma-separated in option order, Other last', () => {
    expect(answerText(multi, { selected: ['Search', 'Auth'], other: false, otherText: 'x' })).toBe('Auth, Search');
    expect(answerText(multi, { selected: ['Backups'], other: true, otherText: 'Audit log' })).toBe('Backups, Audit log');
  });
});

describe('describeSuggestion', () => {
  it('says what "always allow" would do', () => {
    expect(
      describeSuggestion({
        type: 'addRules',
        rules: [{ toolName: 'Bash', ruleContent: 'npm test:*' }],
        behavior: 'allow',
        destination: 'localSettings',
      }),
    ).toBe('Allow Bash(npm test:*) in this project (.claude/settings.local.json)');
    expect(describeSuggestion({ type: 'addDirectories', directories: ['/srv/a'], destination: 'session' })).toBe(
      'Allow access to /srv/a for this session',
    );
    expect(describeSuggestion({ type: 'setMode', mode: 'acceptEdits', destination: 'session' })).toBe(
      'Switch to acceptEdits mode for this session',
    );
    expect(describeSuggestion({ type: 'weird' })).toBe('weird');
  });
});

describe('diffs', () => {
  it('diffs an edit', () => {
    const h = diffHunks('a\nb\nc\n', 'a\nB\nc\n');
    expect(h).toHaveLength(1);
    expect(h[0].lines).toEqual([' a', '-b', '+B', ' c']);
    expect(h[0].oldStart).toBe(1);
  });
  it('diffs strings without a final newline', () => {
    const h = diffHunks('return a - b;', 'return a + b;');
    expect(h[0].lines).toEqual(['-return a - b;', '+return a + b;']);
  });
  it('shows a new file as additions', () => {
    expect(additionHunk('x\ny\n')).toEqual([{ oldStart: 0, newStart: 1, lines: ['+x', '+y'] }]);
  });
  it('prefers the structured patch of the result', () => {
    const structured = { structuredPatch: [{ oldStart: 10, newStart: 10, lines: [' a', '-b', '+c', '\\ No newline at end of file'] }] };
    expect(structuredHunks(structured)).toEqual([{ oldStart: 10, newStart: 10, lines: [' a', '-b', '+c'] }]);
    expect(structuredHunks({ structuredPatch: [] })).toBeNull();
    expect(structuredHunks(null)).toBeNull();
    const e = editHunks('Edit', { file_path: '/f', old_string: 'b', new_string: 'c' }, structured);
    expect(e?.[0].hunks[0].oldStart).toBe(10);
    expect(e?.[0].numbered).toBe(true);
    // Before the result, where the edit sits in the file is unknown: no line numbers.
    expect(editHunks('Edit', { file_path: '/f', old_string: 'b', new_string: 'c' })?.[0].numbered).toBe(false);
  });
  it('makes one diff per MultiEdit edit', () => {
    const e = editHunks('MultiEdit', {
      file_path: '/f.ts',
      edits: [
        { old_string: 'a', new_string: 'b' },
        { old_string: 'c', new_string: 'd' },
      ],
    });
    expect(e?.map((x) => x.title)).toEqual(['/f.ts — edit 1 of 2', '/f.ts — edit 2 of 2']);
    expect(e?.map((x) => x.numbered)).toEqual([false, false]);
    // With the request's `edit_lines`, each edit sits on its line of the file.
    const placed = editHunks('MultiEdit', { file_path: '/f.ts', edits: [{ old_string: 'a', new_string: 'b' }, { old_string: 'c', new_string: 'd' }] }, undefined, [7, null]);
    expect(placed?.map((x) => [x.numbered, x.hunks[0].oldStart, x.hunks[0].newStart])).toEqual([
      [true, 7, 7],
      [false, 1, 1],
    ]);
  });
  it('shows Write as additions and gives up on other tools', () => {
    expect(editHunks('Write', { file_path: '/n.md', content: '# hi\n' })?.[0].hunks[0].lines).toEqual(['+# hi']);
    expect(editHunks('Bash', { command: 'ls' })).toBeNull();
    expect(editHunks('Edit', { file_path: '/f' })).toBeNull();
  });
});

describe('images', () => {
  it('accepts the four types up to the size limit', () => {
    expect(checkImage({ type: 'image/png', size: 1000, name: 'a.png' })).toBeNull();
    expect(checkImage({ type: 'image/webp', size: MAX_IMAGE_BYTES })).toBeNull();
    expect(checkImage({ type: 'image/bmp', size: 10, name: 'x.bmp' })).toContain('only PNG, JPEG, GIF and WebP');
    expect(checkImage({ type: 'image/jpeg', size: MAX_IMAGE_BYTES + 1, name: 'big.jpg' })).toMatch(/big\.jpg is .*at most 700 KB/);
  });
  it('encodes base64 without a data: prefix', () => {
    expect(bytesToBase64(new TextEncoder().encode('hello'))).toBe('aGVsbG8=');
    const big = new Uint8Array(100_000).map((_, i) => i % 256);
    expect(Uint8Array.from(atob(bytesToBase64(big)), (c) => c.charCodeAt(0))).toEqual(big);
  });
  it('estimates the message size', () => {
    expect(messageBytes('hé', [])).toBe(3 + 64);
    expect(messageBytes('', [{ media_type: 'image/png', data: 'x'.repeat(1000) }])).toBeGreaterThan(1000);
  });
});

describe('formatting', () => {
  it('formats cost, tokens and durations', () => {
    expect(formatCost(0)).toBe('$0.00');
    expect(formatCost(0.00036)).toBe('$0.0004');
    expect(formatCost(0.04213)).toBe('$0.042');
    expect(formatCost(1.5)).toBe('$1.50');
    expect(formatTokens(912)).toBe('912');
    expect(formatTokens(1234)).toBe('1.2k');
    expect(formatTokens(18234)).toBe('18k');
    expect(formatTokens(2_500_000)).toBe('2.50M');
    expect(formatDuration(0)).toBe('');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(8450)).toBe('8.4 s');
    expect(formatDuration(65_000)).toBe('1 min 5 s');
  });
  it('summarises tool calls', () => {
    expect(toolSummary('Bash', { command: 'npm test' })).toBe('npm test');
    expect(toolSummary('Edit', { file_path: '/a/b.ts' })).toBe('/a/b.ts');
    expect(toolSummary('Grep', { pattern: 'foo', path: '/src' })).toBe('"foo" in /src');
    expect(toolSummary('TodoWrite', { todos: [{}, {}] })).toBe('2 items');
    expect(toolSummary('mcp__x__y', { query: 'q' })).toBe('q');
    expect(toolLabel('mcp__github__create_issue')).toBe('github · create_issue');
  });
  it('reads tool result content', () => {
    expect(contentText('ok')).toBe('ok');
    expect(contentText([{ type: 'text', text: 'a' }, { type: 'image' }, { type: 'text', text: 'b' }])).toBe('a\n[image]\nb');
    expect(contentText(null)).toBe('');
  });
  it('highlights known languages and escapes the rest', () => {
    expect(highlightCode('<b>', 'nope')).toBe('&#60;b&#62;');
    expect(highlightCode('const x = 1', 'ts')).toContain('hljs-keyword');
    expect(highlightCode('let a = "<x>"', 'typescript')).not.toContain('<x>');
    expect(languageForPath('/a/b.rs')).toBe('rust');
    expect(languageForPath('Makefile')).toBeUndefined();
  });
});

describe('toolStatus', () => {
  const result = (is_error: boolean) => ({ is_error }) as ToolResultEntry;
  const perm = (status: PermissionEntry['status']) => ({ status }) as PermissionEntry;
  it('derives the card status', () => {
    expect(toolStatus(undefined, undefined, true)).toBe('running');
    expect(toolStatus(undefined, undefined, false)).toBe('no-result');
    expect(toolStatus(undefined, perm('pending'))).toBe('waiting');
    expect(toolStatus(result(false), perm('allow'))).toBe('done');
    expect(toolStatus(result(true), perm('allow'))).toBe('error');
    expect(toolStatus(result(true), perm('deny'))).toBe('denied');
    expect(toolStatus(undefined, perm('timeout'))).toBe('denied');
    expect(toolStatus(result(true))).toBe('error');
  });
});

describe('permissionOutcome', () => {
  const entry = (prompt_kind: 'tool' | 'question', status: PermissionEntry['status'], message?: string): PermissionEntry => ({
    request: { kind: 'permission_request', request_id: 'r', tool_name: 'AskUserQuestion', input: {}, suggestions: [], prompt_kind, edit_lines: [] },
    seq: 1,
    status,
    by: 'alice',
    message,
  });

  it('a question is answered or dismissed, not allowed or denied', () => {
    expect(permissionOutcome(entry('question', 'allow'))).toBe('answered by alice');
    expect(permissionOutcome(entry('question', 'deny', 'later'))).toBe('dismissed by alice: later');
    expect(permissionOutcome(entry('tool', 'allow'))).toBe('allowed by alice');
    expect(permissionOutcome(entry('tool', 'deny', 'no'))).toBe('denied by alice: no');
  });
});
