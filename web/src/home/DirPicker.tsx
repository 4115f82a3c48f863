//! A directory picker limited to the server's allowed roots
//! (`GET api/fs/dirs`), with a path field for typing a path directly.

import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { FsDirsResponse } from '../api/types';
import { Icon } from '../ui/icons';

/** How long the field must be still before its text is listed, in ms. */
export const LIST_DELAY_MS = 300;

/** What the picker's field says, and whether the server has listed it. */
export interface DirChoice {
  /** The field's text, trimmed: where a session will run. */
  path: string;
  /** The server's resolved path for `path` once it listed it; null while
   * that is pending or the path is not a usable directory. */
  listed: string | null;
}

/** Props of `DirPicker`. */
interface DirPickerProps {
  /** The directory to show first ('' for the server's default). */
  value: string;
  /** Called with every change of the field's text or of its listing. */
  onChange: (choice: DirChoice) => void;
  /** See `LIST_DELAY_MS` (tests shorten it). */
  listDelayMs?: number;
}

/** Text for a listing error. */
export function dirErrorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'path_not_allowed' || e.status === 403) return 'That directory is outside the allowed roots.';
    if (e.status === 400) return e.message || 'Not a directory.';
    return e.message;
  }
  return String(e);
}

/** How a listing was asked for. */
type LoadKind =
  /** The first listing (the remembered directory, else the default). */
  | 'initial'
  /** A click, Go or Enter: the field moves to the listed directory. */
  | 'navigate'
  /** The field's text after typing: the field keeps what was typed. */
  | 'typed';

/** Browses directories. The field's text is the choice: typing lists it
 * (after a pause), so the list, the field and the choice always agree. */
export function DirPicker({ value, onChange, listDelayMs = LIST_DELAY_MS }: DirPickerProps) {
  const [listing, setListing] = useState<FsDirsResponse | null>(null);
  const [typed, setTyped] = useState(value);
  /** The field text `listing` was listed for (null: none, or it failed). */
  const [listedText, setListedText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  /** The server has no directory listing: only the path field works. */
  const [unavailable, setUnavailable] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  // The field's text now, for answers that arrive after more typing.
  const typedRef = useRef(typed);
  typedRef.current = typed;

  // Set when the user types; the first listing must not overwrite what they typed.
  const edited = useRef(false);
  const load = useCallback(async (path: string | null, kind: LoadKind, fallbackToDefault = false) => {
    window.clearTimeout(timer.current);
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setLoading(true);
    // Until it answers, the field's old directory is not the choice either.
    if (kind === 'navigate') setListedText(null);
    try {
      const resp = await api.dirs(path, ctl.signal);
      if (kind === 'initial' && edited.current) return;
      if (kind === 'typed') {
        // Only an answer for what the field still says counts.
        if (typedRef.current.trim() !== path) return;
        setListedText(path);
      } else {
        setTyped(resp.path);
        setListedText(resp.path);
      }
      setListing(resp);
      setError(null);
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (kind === 'initial' && edited.current) return;
      if (e instanceof ApiError && e.status === 404 && e.code === 'not_found' && !path) {
        setUnavailable(true);
      } else if (fallbackToDefault && path) {
        // A remembered directory that is gone or no longer allowed: start at
        // the default, which is still the first listing (it must not
        // overwrite what the user typed meanwhile either).
        void load(null, kind);
        return;
      } else {
        setListedText(null);
        setError(dirErrorText(e));
      }
    } finally {
      if (!ctl.signal.aborted) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(value || null, 'initial', true);
    return () => {
      window.clearTimeout(timer.current);
      abort.current?.abort();
    };
    // Only the first listing follows the initial value; later ones follow the field.
  }, [load]);

  // The choice: the field's text, and its resolved path once listed.
  const path = typed.trim();
  const listed = unavailable ? path || null : listing && listedText === path && !error ? listing.path : null;
  useEffect(() => {
    onChangeRef.current({ path, listed });
  }, [path, listed]);

  function edit(text: string) {
    edited.current = true;
    setTyped(text);
    window.clearTimeout(timer.current);
    if (unavailable) return;
    const p = text.trim();
    if (!p) {
      abort.current?.abort();
      setLoading(false);
      setError(null);
      return;
    }
    timer.current = window.setTimeout(() => void load(p, 'typed'), listDelayMs);
  }

  function go() {
    edited.current = false;
    if (!path || unavailable) return;
    void load(path, 'navigate');
  }

  return (
    // data-settled: the first listing has arrived or failed, so it can no longer
    // replace the path field's text (tests type only after it).
    // data-listed: the field's text is a listed directory (a session may start there).
    <div
      className="dir-picker"
      data-testid="dir-picker"
      data-settled={listing !== null || error !== null || unavailable}
      data-listed={listed !== null}
    >
      <div className="dir-path-row">
        <label className="sr-only" htmlFor="dir-path">
          Working directory
        </label>
        <input
          id="dir-path"
          className="mono"
          value={typed}
          placeholder="/path/to/project"
          spellCheck={false}
          autoCapitalize="none"
          onChange={(e) => edit(e.target.value)}
          aria-invalid={error !== null}
          aria-describedby={error ? 'dir-path-error' : undefined}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              go();
            }
          }}
          data-testid="new-session-dir"
        />
        {!unavailable && (
          <button type="button" className="button" onClick={go} disabled={!path}>
            Go
          </button>
        )}
      </div>
      {listing && listing.roots.length > 1 && (
        <div className="dir-roots" role="group" aria-label="Allowed roots">
          {listing.roots.map((r) => (
            <button
              key={r}
              type="button"
              className={`chip${listing.path === r || listing.path.startsWith(`${r}/`) ? ' active' : ''}`}
              onClick={() => void load(r, 'navigate')}
            >
              {r}
            </button>
          ))}
        </div>
      )}
      {error && (
        <p className="form-error" role="alert" id="dir-path-error" data-testid="dir-error">
          {error}
        </p>
      )}
      {/* A wrong path shows its error, not another directory's entries. */}
      {error ? null : unavailable ? (
        <p className="muted small">Directory browsing is not available on this server; type the path.</p>
      ) : (
        <ul className="dir-list" aria-label="Subdirectories" aria-busy={loading}>
          {listing?.parent && (
            <li>
              <button type="button" className="dir-entry" onClick={() => void load(listing.parent, 'navigate')} data-testid="dir-parent">
                <Icon name="up" size={16} />
                <span>..</span>
              </button>
            </li>
          )}
          {listing?.dirs.map((d) => (
            <li key={d.path}>
              <button type="button" className="dir-entry" onClick={() => void load(d.path, 'navigate')} data-testid="dir-entry">
                <Icon name="folder" size={16} />
                <span>{d.name}</span>
              </button>
            </li>
          ))}
          {listing && listing.dirs.length === 0 && <li className="muted small dir-none">No subdirectories.</li>}
          {!listing && loading && <li className="muted small dir-none">Loading…</li>}
        </ul>
      )}
    </div>
  );
}
