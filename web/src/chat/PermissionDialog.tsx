// The permission prompt: "may this tool run?", AskUserQuestion as a form,
// and ExitPlanMode as a plan approval. One request at a time; the rest queue.

import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { DiffView, editHunks } from './Diff';
import { isObj, prettyJson, str, toolLabel } from './format';
import { Markdown } from './Markdown';
import type { PermissionEntry } from './state';
import { Output } from './ToolCard';

export interface PermissionAnswer {
  behavior: 'allow' | 'deny';
  updated_input?: Record<string, unknown>;
  message?: string;
  remember?: boolean;
}

export interface PermissionDialogProps {
  /** Pending requests, oldest first; the first is shown. */
  queue: PermissionEntry[];
  onAnswer: (requestId: string, answer: PermissionAnswer) => void;
  /** Request ids answered here, waiting for the server to confirm. */
  answering: Record<string, boolean>;
  /** Why answering is impossible (read-only, offline), if it is. */
  disabledReason?: string;
}

const DESTINATIONS: Record<string, string> = {
  session: 'for this session',
  localSettings: 'in this project (.claude/settings.local.json)',
  projectSettings: 'in the project settings',
  userSettings: 'in your user settings',
  cliArg: 'for this run',
};

/** Human text for one of the CLI's permission suggestions. */
export function describeSuggestion(s: unknown): string {
  if (!isObj(s)) return String(s);
  const where = typeof s.destination === 'string' ? DESTINATIONS[s.destination] ?? s.destination : '';
  const tail = where ? ` ${where}` : '';
  switch (s.type) {
    case 'addRules':
    case 'replaceRules': {
      const rules = Array.isArray(s.rules) ? s.rules.filter(isObj) : [];
      const names = rules.map((r) =>
        typeof r.ruleContent === 'string' && r.ruleContent ? `${str(r.toolName) ?? '?'}(${r.ruleContent})` : str(r.toolName) ?? '?',
      );
      const verb = s.behavior === 'deny' ? 'Deny' : s.behavior === 'ask' ? 'Always ask for' : 'Allow';
      return `${verb} ${names.join(', ') || 'these calls'}${tail}`;
    }
    case 'addDirectories':
      return `Allow access to ${Array.isArray(s.directories) ? s.directories.join(', ') : 'these directories'}${tail}`;
    case 'setMode':
      return `Switch to ${str(s.mode) ?? 'another'} mode${tail}`;
    default:
      return `${String(s.type ?? 'update')}${tail}`;
  }
}

function focusFirst(root: HTMLElement | null, selector: string) {
  const el = root?.querySelector<HTMLElement>(selector);
  el?.focus({ preventScroll: false });
}

export function PermissionDialog({ queue, onAnswer, answering, disabledReason }: PermissionDialogProps) {
  const head = queue[0];
  const titleId = useId();
  const descId = useId();
  const ref = useRef<HTMLElement>(null);
  const requestId = head?.request.request_id;

  // Focus moves into the dialog whenever a new request is shown.
  useEffect(() => {
    if (!requestId) return;
    const t = setTimeout(() => focusFirst(ref.current, '[data-autofocus]'), 0);
    return () => clearTimeout(t);
  }, [requestId]);

  if (!head) return null;
  const busy = !!answering[head.request.request_id];
  const disabled = busy || !!disabledReason;
  const answer = (a: PermissionAnswer) => {
    if (!disabled) onAnswer(head.request.request_id, a);
  };
  const kind = head.request.prompt_kind;

  return (
    <section
      ref={ref}
      // `perm-kind-*`, not `perm-question` / `perm-plan`: those style the
      // question's fieldset and the plan's preview inside.
      className={`perm-dialog perm-kind-${kind}`}
      role="dialog"
      aria-modal="false"
      aria-labelledby={titleId}
      aria-describedby={descId}
      data-testid="permission-dialog"
      data-request-id={head.request.request_id}
      data-prompt-kind={kind}
    >
      <header className="perm-head">
        <h2 id={titleId} className="perm-title">
          {kind === 'question' ? 'Claude has a question' : kind === 'plan' ? 'Approve the plan?' : `Allow ${toolLabel(head.request.tool_name)}?`}
        </h2>
        {queue.length > 1 && (
          <span className="perm-queue" aria-label={`${queue.length - 1} more waiting`}>
            1 of {queue.length}
          </span>
        )}
      </header>
      {kind === 'question' ? (
        <QuestionForm key={head.request.request_id} entry={head} descId={descId} disabled={disabled} onAnswer={answer} />
      ) : kind === 'plan' ? (
        <PlanForm key={head.request.request_id} entry={head} descId={descId} disabled={disabled} onAnswer={answer} />
      ) : (
        <ToolPrompt key={head.request.request_id} entry={head} descId={descId} disabled={disabled} onAnswer={answer} />
      )}
      {(busy || disabledReason) && (
        <p className="perm-note" role="status">
          {busy ? 'Sending your answer…' : disabledReason}
        </p>
      )}
    </section>
  );
}

interface FormProps {
  entry: PermissionEntry;
  descId: string;
  disabled: boolean;
  onAnswer: (a: PermissionAnswer) => void;
}

/** What the tool is about to do: a diff, a command, or its input. */
export function ToolInputPreview({
  name,
  input,
  editLines,
}: {
  name: string;
  input: Record<string, unknown>;
  /** Where each edit lands in the file (`edit_lines` of the request). */
  editLines?: (number | null)[];
}) {
  const edits = editHunks(name, input, undefined, editLines);
  if (edits) {
    return (
      <div className="perm-input">
        {edits.map((e, i) => (
          <DiffView key={i} hunks={e.hunks} title={e.title} numbered={e.numbered} />
        ))}
      </div>
    );
  }
  if (name === 'Bash' && typeof input.command === 'string') {
    return (
      <div className="perm-input">
        <Output text={input.command} className="tool-command" lang="bash" />
      </div>
    );
  }
  const path = str(input.file_path) ?? str(input.path) ?? str(input.url);
  const rest = Object.keys(input).length > 0 ? prettyJson(input) : '';
  return (
    <div className="perm-input">
      {path && <p className="perm-path">{path}</p>}
      {rest && <Output text={rest} lang="json" />}
    </div>
  );
}

function ToolPrompt({ entry, descId, disabled, onAnswer }: FormProps) {
  const r = entry.request;
  const [reason, setReason] = useState('');
  const deny = () => onAnswer({ behavior: 'deny', message: reason.trim() || undefined });
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      deny();
    }
  };
  const description = r.description && r.description !== str(r.input.description) ? r.description : str(r.input.description) ?? r.description;
  return (
    <div className="perm-body" onKeyDown={onKeyDown}>
      <div id={descId} className="perm-desc">
        {description && <p>{description}</p>}
        {r.decision_reason && <p className="muted small">{r.decision_reason}</p>}
      </div>
      <ToolInputPreview name={r.tool_name} input={r.input} editLines={r.edit_lines} />
      <label className="perm-reason">
        <span className="sr-only">Reason for denying (optional)</span>
        <input
          type="text"
          value={reason}
          placeholder="Reason if you deny (optional, Claude sees it)"
          onChange={(e) => setReason(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              deny();
            }
          }}
          data-testid="perm-deny-reason"
          disabled={disabled}
        />
      </label>
      <div className="perm-actions">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => onAnswer({ behavior: 'allow' })}
          disabled={disabled}
          data-testid="perm-allow"
          data-autofocus
        >
          Allow once
        </button>
        {r.suggestions.length > 0 && (
          <button
            type="button"
            className="btn"
            onClick={() => onAnswer({ behavior: 'allow', remember: true })}
            disabled={disabled}
            data-testid="perm-always"
            title={r.suggestions.map(describeSuggestion).join('\n')}
          >
            Always allow
          </button>
        )}
        <button type="button" className="btn btn-danger" onClick={deny} disabled={disabled} data-testid="perm-deny" aria-keyshortcuts="Escape">
          Deny
        </button>
      </div>
      {r.suggestions.length > 0 && (
        <ul className="perm-suggestions muted small" aria-label="Always allow means">
          {r.suggestions.map((s, i) => (
            <li key={i}>{describeSuggestion(s)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

interface Question {
  question: string;
  header?: string;
  options: { label: string; description?: string }[];
  multiSelect: boolean;
}

export function parseQuestions(input: Record<string, unknown>): Question[] {
  const qs = Array.isArray(input.questions) ? input.questions : [];
  return qs.filter(isObj).map((q) => ({
    question: str(q.question) ?? '',
    header: str(q.header),
    options: (Array.isArray(q.options) ? q.options : [])
      .filter(isObj)
      .map((o) => ({ label: str(o.label) ?? '', description: str(o.description) }))
      .filter((o) => o.label),
    multiSelect: q.multiSelect === true,
  }));
}

interface QState {
  selected: string[];
  other: boolean;
  otherText: string;
}

/** The answer string for one question (multi-select: comma-separated). */
export function answerText(q: Question, s: QState): string {
  const parts = q.multiSelect ? q.options.map((o) => o.label).filter((l) => s.selected.includes(l)) : s.selected.slice(0, 1);
  if (s.other && s.otherText.trim()) {
    if (q.multiSelect) parts.push(s.otherText.trim());
    else return s.otherText.trim();
  }
  return parts.join(', ');
}

function QuestionForm({ entry, descId, disabled, onAnswer }: FormProps) {
  const input = entry.request.input;
  const questions = parseQuestions(input);
  const [states, setStates] = useState<QState[]>(() => questions.map(() => ({ selected: [], other: false, otherText: '' })));
  const [missing, setMissing] = useState<number | null>(null);
  const [dismissReason, setDismissReason] = useState('');
  const base = useId();
  const ref = useRef<HTMLFormElement>(null);

  const update = (i: number, f: (s: QState) => QState) => {
    setStates((prev) => prev.map((s, j) => (j === i ? f(s) : s)));
    if (missing === i) setMissing(null);
  };

  const submit = () => {
    const answers: Record<string, string> = {};
    for (let i = 0; i < questions.length; i++) {
      const text = answerText(questions[i], states[i]);
      if (!text) {
        setMissing(i);
        focusFirst(ref.current, `[data-q="${i}"]`);
        return;
      }
      answers[questions[i].question] = text;
    }
    onAnswer({ behavior: 'allow', updated_input: { ...input, answers } });
  };
  const dismiss = () =>
    onAnswer({ behavior: 'deny', message: dismissReason.trim() || 'The user dismissed the question without answering.' });

  return (
    <form
      ref={ref}
      className="perm-body"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          focusFirst(ref.current, '[data-testid="perm-deny"]');
        }
      }}
    >
      <p id={descId} className="sr-only">
        Answer {questions.length === 1 ? 'the question' : `the ${questions.length} questions`} and submit, or dismiss.
      </p>
      {questions.map((q, i) => {
        const s = states[i];
        const type = q.multiSelect ? 'checkbox' : 'radio';
        const name = `${base}-q${i}`;
        return (
          <fieldset key={i} className={`perm-question${missing === i ? ' perm-missing' : ''}`} aria-invalid={missing === i || undefined}>
            <legend>
              {q.header && <span className="perm-chip">{q.header}</span>}
              <span className="perm-qtext">{q.question}</span>
              {q.multiSelect && <span className="muted small"> (choose any)</span>}
            </legend>
            {q.options.map((o, k) => (
              <label key={k} className="perm-option">
                <input
                  type={type}
                  name={name}
                  checked={s.selected.includes(o.label)}
                  disabled={disabled}
                  data-q={k === 0 ? i : undefined}
                  data-autofocus={i === 0 && k === 0 ? true : undefined}
                  onChange={(e) => {
                    const on = e.target.checked;
                    update(i, (st) =>
                      q.multiSelect
                        ? { ...st, selected: on ? [...st.selected, o.label] : st.selected.filter((l) => l !== o.label) }
                        : { ...st, selected: [o.label], other: false },
                    );
                  }}
                />
                <span className="perm-option-text">
                  <span className="perm-option-label">{o.label}</span>
                  {o.description && <span className="perm-option-desc">{o.description}</span>}
                </span>
              </label>
            ))}
            <label className="perm-option perm-other">
              <input
                type={type}
                name={name}
                checked={s.other}
                disabled={disabled}
                aria-label="Other"
                onChange={(e) => {
                  const on = e.target.checked;
                  update(i, (st) => (q.multiSelect ? { ...st, other: on } : { ...st, other: on, selected: on ? [] : st.selected }));
                }}
              />
              <input
                type="text"
                className="perm-other-text"
                placeholder="Other…"
                aria-label={`Other answer to: ${q.question}`}
                value={s.otherText}
                disabled={disabled}
                onChange={(e) => {
                  const v = e.target.value;
                  update(i, (st) => ({
                    ...st,
                    otherText: v,
                    other: v.trim() ? true : st.other,
                    selected: !q.multiSelect && v.trim() ? [] : st.selected,
                  }));
                }}
              />
            </label>
            {missing === i && (
              <p className="perm-error" role="alert">
                Choose an answer.
              </p>
            )}
          </fieldset>
        );
      })}
      <div className="perm-actions">
        <button type="submit" className="btn btn-primary" disabled={disabled} data-testid="perm-allow">
          Submit answers
        </button>
        <input
          type="text"
          className="perm-inline-reason"
          value={dismissReason}
          placeholder="Or tell Claude something else"
          aria-label="Message when dismissing (optional)"
          onChange={(e) => setDismissReason(e.target.value)}
          disabled={disabled}
          data-testid="perm-deny-reason"
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              dismiss();
            }
          }}
        />
        <button type="button" className="btn btn-danger" onClick={dismiss} disabled={disabled} data-testid="perm-deny">
          Dismiss
        </button>
      </div>
    </form>
  );
}

function PlanForm({ entry, descId, disabled, onAnswer }: FormProps) {
  const input = entry.request.input;
  const original = str(input.plan) ?? '';
  const [plan, setPlan] = useState(original);
  const [editing, setEditing] = useState(false);
  const [feedback, setFeedback] = useState('');
  const ref = useRef<HTMLDivElement>(null);
  const approve = () =>
    onAnswer(plan !== original ? { behavior: 'allow', updated_input: { ...input, plan } } : { behavior: 'allow' });
  const reject = () => onAnswer({ behavior: 'deny', message: feedback.trim() || undefined });
  return (
    <div
      ref={ref}
      className="perm-body"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          if (editing) setEditing(false);
          else focusFirst(ref.current, '[data-testid="perm-deny-reason"]');
        }
      }}
    >
      <p id={descId} className="sr-only">
        Claude wants to leave plan mode and start working on this plan. Approve it (you may edit it first) or reject it with
        feedback.
      </p>
      {str(input.planFilePath) && <p className="muted small perm-path">{str(input.planFilePath)}</p>}
      {editing ? (
        <label className="perm-plan-edit">
          <span className="sr-only">Plan (Markdown)</span>
          <textarea value={plan} onChange={(e) => setPlan(e.target.value)} rows={14} disabled={disabled} data-testid="plan-editor" />
        </label>
      ) : (
        <div className="perm-plan">
          <Markdown text={plan || '(empty plan)'} />
        </div>
      )}
      <div className="perm-actions">
        <button type="button" className="btn btn-primary" onClick={approve} disabled={disabled} data-testid="perm-allow" data-autofocus>
          {plan !== original ? 'Approve edited plan' : 'Approve'}
        </button>
        <button type="button" className="btn" onClick={() => setEditing((v) => !v)} disabled={disabled} data-testid="plan-edit">
          {editing ? 'Preview' : 'Edit plan'}
        </button>
      </div>
      <div className="perm-reject">
        <label>
          <span className="sr-only">Feedback when rejecting</span>
          <textarea
            value={feedback}
            rows={2}
            placeholder="What should change? (sent when you reject)"
            onChange={(e) => setFeedback(e.target.value)}
            disabled={disabled}
            data-testid="perm-deny-reason"
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                reject();
              }
            }}
          />
        </label>
        <button type="button" className="btn btn-danger" onClick={reject} disabled={disabled} data-testid="perm-deny">
          Reject
        </button>
      </div>
    </div>
  );
}
