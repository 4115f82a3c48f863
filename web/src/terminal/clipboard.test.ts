// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { clipboardShortcut } from './clipboard';

const key = (over: Partial<KeyboardEvent>) =>
  ({ type: 'keydown', ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, code: '', ...over }) as KeyboardEvent;

describe('clipboardShortcut', () => {
  it('knows Ctrl+Shift+C/V and Cmd+Shift+C/V', () => {
    expect(clipboardShortcut(key({ ctrlKey: true, shiftKey: true, code: 'KeyC' }))).toBe('copy');
    expect(clipboardShortcut(key({ metaKey: true, shiftKey: true, code: 'KeyV' }))).toBe('paste');
  });
  it('leaves plain Ctrl+C (interrupt) and key-ups to the terminal', () => {
    expect(clipboardShortcut(key({ ctrlKey: true, code: 'KeyC' }))).toBeNull();
    expect(clipboardShortcut(key({ type: 'keyup', ctrlKey: true, shiftKey: true, code: 'KeyC' }))).toBeNull();
    expect(clipboardShortcut(key({ ctrlKey: true, shiftKey: true, altKey: true, code: 'KeyC' }))).toBeNull();
  });
});
