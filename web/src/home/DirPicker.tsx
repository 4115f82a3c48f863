//! A directory picker limited to the server's allowed roots
//! (`GET api/fs/dirs`), with a path field for typing a path directly.

import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { FsDirsResponse } from '../api/types';
import { Icon } from '../ui/icons';

/** Props of `DirPicker`. */
interface DirPickerProps {
  /** The chosen directory ('' before the first listing). */
  value: string;
  onChange: (path: string) => void;
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

/** Browses directories; the listed directory is the chosen one. */
export function DirPicker({ value, onChange }: DirPickerProps) {
  const [listing, setListing] = useState<FsDirsResponse | null>(null);
  const [typed, setTyped] = useState(value);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  /** The server has no directory listing: only the path field works. */
  const [unavailable, setUnavailable] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;

  // Set when the user types; the first listing must not overwrite what they typed.
  const edited = useRef(false);
  const load = useCallback(async (path: string | null, fallbackToDefault = false, initial = false) => {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setLoading(true);
    try {
      const resp = await api.dirs(path, ctl.signal);
      if (initial && edited.current) return;
      setListing(resp);
      setTyped(resp.path);
      setError(null);
      onChangeRef.current(resp.path);
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (e instanceof ApiError && e.status === 404 && e.code === 'not_found' && !path) {
        setUnavailable(true);
      } else if (fallbackToDefault && path) {
        // A remembered directory that is gone or no longer allowed: start at
        // the default, which is still the first listing (it must not
        // overwrite what the user typed meanwhile either).
        void load(null, false, initial);
        return;
      } else {
        setError(dirErrorText(e));
      }
    } finally {
      if (!ctl.signal.aborted) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(value || null, true, true);
    return () => abort.current?.abort();
    // Only the first listing follows the initial value; later ones follow clicks.
  }, [load]);

  function go() {
    edited.current = false;
    const p = typed.trim();
    if (!p) return;
    if (unavailable) onChange(p);
    else void load(p);
  }

  return (
    // data-settled: the first listing has arrived or failed, so it can no longer
    // replace the path field's text (tests type only after it).
    <div className="dir-picker" data-testid="dir-picker" data-settled={listing !== null || error !== null || unavailable}>
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
          onChange={(e) => {
            edited.current = true;
            setTyped(e.target.value);
            if (unavailable) onChange(e.target.value);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              go();
            }
          }}
          data-testid="new-session-dir"
        />
        {!unavailable && (
          <button type="button" className="button" onClick={go} disabled={loading}>
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
              onClick={() => void load(r)}
            >
              {r}
            </button>
          ))}
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {unavailable ? (
        <p className="muted small">Directory browsing is not available on this server; type the path.</p>
      ) : (
        <ul className="dir-list" aria-label="Subdirectories" aria-busy={loading}>
          {listing?.parent && (
            <li>
              <button type="button" className="dir-entry" onClick={() => void load(listing.parent)} data-testid="dir-parent">
                <Icon name="up" size={16} />
                <span>..</span>
              </button>
            </li>
          )}
          {listing?.dirs.map((d) => (
            <li key={d.path}>
              <button type="button" className="dir-entry" onClick={() => void load(d.path)} data-testid="dir-entry">
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
