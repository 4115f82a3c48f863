//! Short messages at the bottom of the screen (errors of background
//! actions, confirmations), announced to screen readers.

import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from 'react';
import { Icon } from './icons';

/** One toast. */
interface Toast {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

/** Shows toasts. */
interface ToastApi {
  info(text: string): void;
  error(text: string): void;
}

const ToastContext = createContext<ToastApi>({ info: () => {}, error: () => {} });

/** The toast functions of the app. */
export function useToasts(): ToastApi {
  return useContext(ToastContext);
}

const TOAST_INFO_MS = 4000;
const TOAST_ERROR_MS = 8000;
const MAX_TOASTS = 4;

/** Holds the toasts and renders them. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((t) => t.id !== id)), []);

  const push = useCallback(
    (kind: Toast['kind'], text: string) => {
      const id = nextId.current++;
      setToasts((list) => {
        // The same message twice in a row (e.g. a failing poll) shows once.
        if (list.some((t) => t.text === text)) return list;
        return [...list, { id, kind, text }].slice(-MAX_TOASTS);
      });
      window.setTimeout(() => dismiss(id), kind === 'error' ? TOAST_ERROR_MS : TOAST_INFO_MS);
    },
    [dismiss],
  );

  const api = useMemo<ToastApi>(() => ({ info: (t) => push('info', t), error: (t) => push('error', t) }), [push]);

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : undefined}>
            <span>{t.text}</span>
            <button type="button" className="icon-button" aria-label="Dismiss message" onClick={() => dismiss(t.id)}>
              <Icon name="close" size={16} />
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}
