// The prompt box: multiline text, image paste/upload, the slash-command
// palette, send and interrupt.

import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type ClipboardEvent,
  type DragEvent,
  type KeyboardEvent,
} from 'react';
import { isTouchFirst } from '../ui/device';
import { formatBytes, MAX_MESSAGE_BYTES, messageBytes, readImage, type Attachment } from './images';
import type { ImageInput } from './protocol';
import { matchCommands } from './slash';
import type { SlashCommand } from './state';

export interface ComposerProps {
  sessionId: string;
  commands: SlashCommand[];
  /** Why nothing can be sent (ended, read-only), if so. */
  disabledReason?: string;
  connected: boolean;
  busy: boolean;
  /** Sends; false when it could not be sent (the text is kept). */
  onSend: (text: string, images: ImageInput[]) => boolean;
  onInterrupt: () => void;
  onError: (message: string) => void;
  /** Puts text back (e.g. after the server refused it); `nonce` changes each time. */
  restore?: { text: string; nonce: number } | null;
}

const draftKey = (id: string) => `ccweb.chat.draft.${id}`;

function loadDraft(id: string): string {
  try {
    return localStorage.getItem(draftKey(id)) ?? '';
  } catch {
    return '';
  }
}

function saveDraft(id: string, text: string) {
  try {
    if (text) localStorage.setItem(draftKey(id), text);
    else localStorage.removeItem(draftKey(id));
  } catch {
    /* storage full or disabled */
  }
}

export function Composer({
  sessionId,
  commands,
  disabledReason,
  connected,
  busy,
  onSend,
  onInterrupt,
  onError,
  restore,
}: ComposerProps) {
  const [text, setText] = useState(() => loadDraft(sessionId));
  const [images, setImages] = useState<Attachment[]>([]);
  const [selected, setSelected] = useState(0);
  const [paletteClosed, setPaletteClosed] = useState(false);
  const [dragging, setDragging] = useState(false);
  const ta = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const listId = useId();
  const disabled = !!disabledReason;

  const matches = paletteClosed || disabled ? null : matchCommands(commands, text);
  const paletteOpen = !!matches && matches.length > 0;
  const sel = paletteOpen ? Math.min(selected, matches.length - 1) : 0;

  useEffect(() => saveDraft(sessionId, text), [sessionId, text]);

  useEffect(() => {
    if (restore && restore.text) setText((cur) => (cur.trim() ? cur : restore.text));
  }, [restore]);

  // Grow with the text (CSS caps the height).
  useLayoutEffect(() => {
    const el = ta.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight + 2}px`;
  }, [text]);

  // Free thumbnails on unmount.
  const imagesRef = useRef(images);
  imagesRef.current = images;
  useEffect(() => () => imagesRef.current.forEach((i) => URL.revokeObjectURL(i.url)), []);

  // Keep the picked palette entry in view.
  useEffect(() => {
    if (!paletteOpen) return;
    document.getElementById(`${listId}-${sel}`)?.scrollIntoView?.({ block: 'nearest' });
  }, [paletteOpen, sel, listId]);

  const addFiles = async (files: File[]) => {
    for (const f of files) {
      try {
        const a = await readImage(f);
        setImages((prev) => [...prev, a]);
      } catch (e) {
        onError(e instanceof Error ? e.message : String(e));
      }
    }
  };

  const removeImage = (id: string) => {
    setImages((prev) => {
      const gone = prev.find((i) => i.id === id);
      if (gone) URL.revokeObjectURL(gone.url);
      return prev.filter((i) => i.id !== id);
    });
  };

  const send = () => {
    if (disabled) return;
    const body = text.replace(/\s+$/, '');
    if (!body.trim() && images.length === 0) return;
    const imgs: ImageInput[] = images.map(({ media_type, data }) => ({ media_type, data }));
    const size = messageBytes(body, imgs);
    if (size > MAX_MESSAGE_BYTES) {
      onError(
        `This message is ${formatBytes(size)}; one message can carry at most ${formatBytes(MAX_MESSAGE_BYTES)}. ` +
          'Remove an image or send them one at a time.',
      );
      return;
    }
    if (!onSend(body, imgs)) return;
    setText('');
    images.forEach((i) => URL.revokeObjectURL(i.url));
    setImages([]);
    setPaletteClosed(false);
  };

  const pick = (c: SlashCommand) => {
    setText(`/${c.name} `);
    setPaletteClosed(true);
    ta.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing) return;
    if (paletteOpen) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = matches.length;
        setSelected((sel + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
        const c = matches[sel];
        // "/compact" typed in full: Enter sends it.
        if (!(e.key === 'Enter' && text === `/${c.name}`)) {
          e.preventDefault();
          pick(c);
          return;
        }
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setPaletteClosed(true);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      send();
      return;
    }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send();
      return;
    }
    if (e.key === 'Escape' && busy) {
      e.preventDefault();
      onInterrupt();
    }
  };

  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    const files: File[] = [];
    for (const item of Array.from(e.clipboardData?.items ?? [])) {
      if (item.kind === 'file') {
        const f = item.getAsFile();
        if (f && f.type.startsWith('image/')) files.push(f);
      }
    }
    if (files.length) {
      e.preventDefault();
      void addFiles(files);
    }
  };

  const onDrop = (e: DragEvent) => {
    setDragging(false);
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (!files.length) return;
    e.preventDefault();
    void addFiles(files);
  };

  // Esc is a keyboard's: phones get no hint they cannot follow.
  const keyboard = !isTouchFirst();
  const placeholder = disabledReason
    ? disabledReason
    : busy
      ? keyboard
        ? 'Claude is working… Esc stops this turn'
        : 'Claude is working…'
      : 'Message Claude… (/ for commands)';

  return (
    <div
      className={`composer${dragging ? ' composer-drop' : ''}${disabled ? ' composer-disabled' : ''}`}
      onDragOver={(e) => {
        if (disabled || !Array.from(e.dataTransfer?.types ?? []).includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {paletteOpen && (
        <ul className="slash-palette" id={listId} role="listbox" aria-label="Slash commands" data-testid="slash-palette">
          {matches.map((c, i) => (
            <li
              key={c.name}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === sel}
              className={i === sel ? 'active' : ''}
              title={c.description}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(c);
              }}
              onMouseEnter={() => setSelected(i)}
            >
              <span className="slash-name">/{c.name}</span>
              {c.argumentHint && <span className="slash-hint">{c.argumentHint}</span>}
              {c.description && <span className="slash-desc">{c.description}</span>}
            </li>
          ))}
        </ul>
      )}
      {images.length > 0 && (
        <ul className="composer-images" aria-label="Attached images">
          {images.map((i) => (
            <li key={i.id} className="composer-thumb">
              <img src={i.url} alt={i.name} />
              <span className="composer-thumb-size">{formatBytes(i.size)}</span>
              <button type="button" className="composer-thumb-remove" aria-label={`Remove ${i.name}`} onClick={() => removeImage(i.id)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-row">
        <button
          type="button"
          className="icon-btn composer-attach"
          aria-label="Attach images"
          title="Attach images (or paste / drop them)"
          disabled={disabled}
          onClick={() => fileInput.current?.click()}
          data-testid="composer-attach"
        >
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path
              fill="none"
              stroke="currentColor"
              strokeWidth="2"
              strokeLinecap="round"
              strokeLinejoin="round"
              d="M21 11.5l-8.6 8.6a5.5 5.5 0 01-7.8-7.8l8.6-8.6a3.7 3.7 0 015.2 5.2l-8.6 8.6a1.8 1.8 0 01-2.6-2.6l7.9-7.9"
            />
          </svg>
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          multiple
          hidden
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = '';
            void addFiles(files);
          }}
          data-testid="composer-file"
        />
        <textarea
          ref={ta}
          className="composer-input"
          rows={1}
          value={text}
          placeholder={placeholder}
          aria-label="Message"
          title="Enter sends, Shift+Enter adds a line, / opens commands"
          disabled={disabled}
          onChange={(e) => {
            setText(e.target.value);
            setSelected(0);
            if (!e.target.value.startsWith('/')) setPaletteClosed(false);
          }}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          role={paletteOpen ? 'combobox' : undefined}
          aria-expanded={paletteOpen ? true : undefined}
          aria-controls={paletteOpen ? listId : undefined}
          aria-activedescendant={paletteOpen ? `${listId}-${sel}` : undefined}
          aria-autocomplete={commands.length ? 'list' : undefined}
          data-testid="composer-input"
        />
        {busy && (
          <button
            type="button"
            className="btn btn-danger composer-interrupt"
            onClick={onInterrupt}
            disabled={disabled || !connected}
            aria-keyshortcuts={keyboard ? 'Escape' : undefined}
            title={keyboard ? 'Stop this turn (Esc); the session goes on' : 'Stop this turn; the session goes on'}
            data-testid="interrupt"
          >
            <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
              <rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor" />
            </svg>
            <span className="btn-label">Stop</span>
          </button>
        )}
        <button
          type="button"
          className="btn btn-primary composer-send"
          onClick={send}
          disabled={disabled || !connected || (!text.trim() && images.length === 0)}
          aria-label="Send"
          title={connected ? 'Send (Enter)' : 'Not connected'}
          data-testid="composer-send"
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path fill="currentColor" d="M3.4 20.4l17.4-7.5a1 1 0 000-1.8L3.4 3.6a1 1 0 00-1.4 1.2L4.5 12l-2.5 7.2a1 1 0 001.4 1.2z" />
          </svg>
        </button>
      </div>
    </div>
  );
}
