// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { clampSize, describeEnd, describeExit, encodeInput, fitMessage, parseServerMessage, resizeMessage } from './protocol';

describe('parseServerMessage', () => {
  it('reads connected with its size, session, readonly and size owner flags', () => {
    const msg = parseServerMessage(
      JSON.stringify({ type: 'connected', session: { id: 'x' }, cols: 120, rows: 35, readonly: true, size_owner: false }),
    );
    expect(msg).toEqual({ type: 'connected', session: { id: 'x' }, cols: 120, rows: 35, readonly: true, size_owner: false });
  });

  it('treats a missing size_owner as owning the size (a server where the last resize wins)', () => {
    const msg = parseServerMessage(JSON.stringify({ type: 'connected', session: {}, cols: 80, rows: 24 }));
    expect(msg && msg.type === 'connected' && msg.size_owner).toBe(true);
  });

  it('treats a missing readonly as writable', () => {
    const msg = parseServerMessage(JSON.stringify({ type: 'connected', session: {}, cols: 80, rows: 24 }));
    expect(msg && msg.type === 'connected' && msg.readonly).toBe(false);
  });

  it('reads resize, exit, error and pong', () => {
    expect(parseServerMessage('{"type":"resize","cols":100,"rows":30}')).toEqual({ type: 'resize', cols: 100, rows: 30 });
    expect(parseServerMessage('{"type":"exit","code":143}')).toEqual({ type: 'exit', code: 143 });
    expect(parseServerMessage('{"type":"error","code":"readonly","message":"no"}')).toEqual({
      type: 'error',
      code: 'readonly',
      message: 'no',
    });
    expect(parseServerMessage('{"type":"pong"}')).toEqual({ type: 'pong' });
  });

  it('reads size_owner', () => {
    expect(parseServerMessage('{"type":"size_owner","owner":false}')).toEqual({ type: 'size_owner', owner: false });
    expect(parseServerMessage('{"type":"size_owner","owner":true}')).toEqual({ type: 'size_owner', owner: true });
    expect(parseServerMessage('{"type":"size_owner"}')).toBeNull();
  });

  it('ignores garbage, unknown types and malformed sizes', () => {
    expect(parseServerMessage('not json')).toBeNull();
    expect(parseServerMessage('null')).toBeNull();
    expect(parseServerMessage('{"type":"shiny"}')).toBeNull();
    expect(parseServerMessage('{"type":"resize","cols":"80","rows":24}')).toBeNull();
    expect(parseServerMessage('{"type":"resize","cols":0,"rows":24}')).toBeNull();
    expect(parseServerMessage('{"type":"connected","cols":80,"rows":24}')).toBeNull();
    expect(parseServerMessage('{"type":"exit"}')).toBeNull();
  });
});

describe('client messages', () => {
  it('clamps resize to the server bounds', () => {
    expect(JSON.parse(resizeMessage(80.7, 24))).toEqual({ type: 'resize', cols: 80, rows: 24 });
    expect(clampSize(1, 1)).toEqual({ cols: 2, rows: 2 });
    expect(clampSize(5000, 5000)).toEqual({ cols: 1000, rows: 500 });
  });

  it('asks for the size with fit', () => {
    expect(JSON.parse(fitMessage())).toEqual({ type: 'fit' });
  });

  it('encodes input as UTF-8', () => {
    expect(Array.from(encodeInput('é\r'))).toEqual([0xc3, 0xa9, 0x0d]);
  });
});

describe('describeExit', () => {
  it('names common signals', () => {
    expect(describeExit(0)).toBe('Process exited with code 0');
    expect(describeExit(143)).toBe('Process exited with code 143 (SIGTERM)');
    expect(describeExit(137)).toBe('Process exited with code 137 (SIGKILL)');
  });
});

describe('describeEnd', () => {
  it('prefers the end reason over a bare code', () => {
    expect(describeEnd(-1, 'server_restart')).toBe('Stopped because the ccweb server restarted');
    expect(describeEnd(143, 'stop')).toBe('Stopped (exit code 143)');
    expect(describeEnd(137, 'memory_limit')).toBe('Killed: the session went over its memory limit');
    expect(describeEnd(143, 'max_age')).toBe('Stopped after running for the longest a session may (exit code 143)');
    expect(describeEnd(0, 'exit')).toBe('Process exited with code 0');
    expect(describeEnd(1, null)).toBe('Process exited with code 1');
  });
});
