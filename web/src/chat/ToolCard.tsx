// A tool call as a card: what was asked, and what came back.

import { memo, useState, type ReactNode } from 'react';
import { DiffView, editHunks } from './Diff';
import { contentText, isObj, prettyJson, str, toolLabel, toolSummary } from './format';
import { highlightCode } from './highlight';
import { Markdown } from './Markdown';
import type { PermissionEntry, ToolResultEntry } from './state';

export type ToolStatus = 'running' | 'waiting' | 'done' | 'error' | 'denied' | 'no-result';

export function toolStatus(result?: ToolResultEntry, permission?: PermissionEntry, active = true): ToolStatus {
  if (result) {
    if (result.is_error) return permission && permission.status !== 'allow' && permission.status !== 'pending' ? 'denied' : 'error';
    return 'done';
  }
  if (permission?.status === 'pending') return 'waiting';
  if (permission && permission.status !== 'allow') return 'denied';
  return active ? 'running' : 'no-result';
}

const STATUS_TEXT: Record<ToolStatus, string> = {
  running: 'running',
  waiting: 'waiting for approval',
  done: 'done',
  error: 'error',
  denied: 'denied',
  'no-result': 'no result',
};

const MAX_OUTPUT = 20_000;

/** Long text in a scrollable block, cut at first with a "show all". */
export function Output({ text, className, lang }: { text: string; className?: string; lang?: string }) {
  const [all, setAll] = useState(false);
  const cut = !all && text.length > MAX_OUTPUT;
  const shown = cut ? text.slice(0, MAX_OUTPUT) : text;
  return (
    <div className={`tool-output${className ? ` ${className}` : ''}`}>
      {lang ? (
        // highlightCode escapes or highlights: no raw input reaches the DOM.
        <pre>
          <code className="hljs" dangerouslySetInnerHTML={{ __html: highlightCode(shown, lang) }} />
        </pre>
      ) : (
        <pre>{shown}</pre>
      )}
      {cut && (
        <button type="button" className="link-button" onClick={() => setAll(true)}>
          Show all ({Math.round(text.length / 1000)}k characters)
        </button>
      )}
    </div>
  );
}

function Section({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="tool-section">
      <div className="tool-section-label">{label}</div>
      {children}
    </div>
  );
}

function resultText(result: ToolResultEntry): string {
  return contentText(result.content);
}

function BashBody({ input, result }: { input: Record<string, unknown>; result?: ToolResultEntry }) {
  const command = str(input.command) ?? '';
  const s = result && isObj(result.structured) ? result.structured : null;
  const stdout = s ? str(s.stdout) : undefined;
  const stderr = s ? str(s.stderr) : undefined;
  return (
    <>
      <Output text={command} className="tool-command" lang="bash" />
      {str(input.description) && <p className="tool-desc">{str(input.description)}</p>}
      {result &&
        (stdout !== undefined || stderr !== undefined ? (
          <>
            {stdout ? <Output text={stdout} /> : null}
            {stderr ? <Output text={stderr} className="tool-stderr" /> : null}
            {!stdout && !stderr && (
              <p className="muted small">{result.is_error ? resultText(result) || 'failed' : '(no output)'}</p>
            )}
            {s?.interrupted === true && <p className="tool-flag">interrupted</p>}
            {result.is_error && (stdout || stderr) && resultText(result) && !resultText(result).includes(stdout ?? '\u0000') && (
              <Output text={resultText(result)} className="tool-stderr" />
            )}
          </>
        ) : (
          <Output text={resultText(result) || '(no output)'} className={result.is_error ? 'tool-stderr' : undefined} />
        ))}
    </>
  );
}

function TodoBody({ input }: { input: Record<string, unknown> }) {
  const todos = Array.isArray(input.todos) ? input.todos.filter(isObj) : [];
  return (
    <ul className="todo-list">
      {todos.map((t, i) => {
        const status = str(t.status) ?? 'pending';
        return (
          <li key={i} className={`todo todo-${status}`}>
            <span className="todo-box" aria-hidden="true">
              {status === 'completed' ? '✔' : status === 'in_progress' ? '◐' : '○'}
            </span>
            <span className="sr-only">{status.replace('_', ' ')}: </span>
            <span className="todo-text">{str(t.content) ?? str(t.activeForm) ?? ''}</span>
          </li>
        );
      })}
    </ul>
  );
}

function GenericInput({ input }: { input: Record<string, unknown> }) {
  const keys = Object.keys(input);
  if (keys.length === 0) return null;
  return (
    <Section label="Input">
      <Output text={prettyJson(input)} lang="json" />
    </Section>
  );
}

function ResultSection({ result, markdown }: { result?: ToolResultEntry; markdown?: boolean }) {
  if (!result) return null;
  const text = resultText(result);
  return (
    <Section label={result.is_error ? 'Error' : 'Result'}>
      {markdown && !result.is_error ? (
        <div className="tool-markdown">
          <Markdown text={text} />
        </div>
      ) : (
        <Output text={text || '(empty)'} className={result.is_error ? 'tool-stderr' : undefined} />
      )}
    </Section>
  );
}

function Body({ name, input, result }: { name: string; input: Record<string, unknown>; result?: ToolResultEntry }) {
  switch (name) {
    case 'Bash':
      return <BashBody input={input} result={result} />;
    case 'Edit':
    case 'MultiEdit':
    case 'Write': {
      const edits = editHunks(name, input, result && !result.is_error ? result.structured : undefined);
      return (
        <>
          {edits ? edits.map((e, i) => <DiffView key={i} hunks={e.hunks} title={e.title} numbered={e.numbered} />) : <GenericInput input={input} />}
          {result?.is_error && <ResultSection result={result} />}
        </>
      );
    }
    case 'Read':
      return result ? <Output text={resultText(result) || '(empty)'} className={result.is_error ? 'tool-stderr' : undefined} /> : null;
    case 'Grep':
    case 'Glob':
    case 'LS':
      return result ? <Output text={resultText(result) || '(no matches)'} className={result.is_error ? 'tool-stderr' : undefined} /> : null;
    case 'TodoWrite':
      return <TodoBody input={input} />;
    case 'Task':
    case 'Agent':
      return (
        <>
          {str(input.prompt) && (
            <details className="tool-sub">
              <summary>Prompt</summary>
              <div className="tool-markdown">
                <Markdown text={str(input.prompt)!} />
              </div>
            </details>
          )}
          <ResultSection result={result} markdown />
        </>
      );
    case 'ExitPlanMode':
      return (
        <>
          {str(input.plan) && (
            <div className="tool-markdown">
              <Markdown text={str(input.plan)!} />
            </div>
          )}
          <ResultSection result={result} />
        </>
      );
    case 'AskUserQuestion': {
      const qs = Array.isArray(input.questions) ? input.questions.filter(isObj) : [];
      return (
        <>
          <ul className="tool-questions">
            {qs.map((q, i) => (
              <li key={i}>{str(q.question)}</li>
            ))}
          </ul>
          <ResultSection result={result} />
        </>
      );
    }
    default:
      return (
        <>
          <GenericInput input={input} />
          <ResultSection result={result} />
        </>
      );
  }
}

/** Tools whose card starts open. */
const OPEN_BY_DEFAULT = new Set(['Bash', 'Edit', 'MultiEdit', 'Write', 'TodoWrite', 'ExitPlanMode', 'AskUserQuestion']);

export interface ToolCardProps {
  id: string;
  name: string;
  input: Record<string, unknown>;
  result?: ToolResultEntry;
  permission?: PermissionEntry;
  /** A turn is still running (a missing result is "running", not "no result"). */
  active: boolean;
  children?: ReactNode;
}

export const ToolCard = memo(function ToolCard({ id, name, input, result, permission, active, children }: ToolCardProps) {
  const status = toolStatus(result, permission, active);
  const [open, setOpen] = useState(() => OPEN_BY_DEFAULT.has(name) || status === 'error');
  const summary = toolSummary(name, input);
  return (
    <div className={`tool-card tool-${status}`} data-testid="tool-card" data-tool={name} data-status={status} data-tool-use-id={id}>
      <details open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>
          <span className={`tool-dot tool-dot-${status}`} aria-hidden="true" />
          <span className="tool-name">{toolLabel(name)}</span>
          {summary && <span className="tool-summary">{name === 'Bash' ? `$ ${summary.split('\n')[0]}` : summary}</span>}
          <span className="tool-status">{STATUS_TEXT[status]}</span>
        </summary>
        <div className="tool-body">{open && <Body name={name} input={input} result={result} />}</div>
      </details>
      {children}
    </div>
  );
});

/** A tool result whose call is not in the transcript. */
export function OrphanResult({ result }: { result: ToolResultEntry }) {
  return (
    <div className={`tool-card tool-${result.is_error ? 'error' : 'done'}`} data-testid="tool-card">
      <details>
        <summary>
          <span className={`tool-dot tool-dot-${result.is_error ? 'error' : 'done'}`} aria-hidden="true" />
          <span className="tool-name">Tool result</span>
          <span className="tool-status">{result.is_error ? 'error' : 'done'}</span>
        </summary>
        <div className="tool-body">
          <Output text={contentText(result.content)} />
        </div>
      </details>
    </div>
  );
}
