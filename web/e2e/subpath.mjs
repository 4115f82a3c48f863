// The app behind a reverse proxy at a URL sub-path (/sub/): the page, its
// assets, the API and the terminal WebSocket all go through the prefix.
// The proxy keeps the Host header (as proxies configured for ccweb do).
import http from 'node:http';
import net from 'node:net';
import { env, login, newSession, run, until } from './lib.mjs';

const upstream = new URL(env.url);
const PREFIX = '/sub';
const seen = [];

const proxy = http.createServer((req, res) => {
  seen.push(req.url);
  if (!req.url.startsWith(`${PREFIX}/`)) {
    res.writeHead(404).end('outside the prefix');
    return;
  }
  const path = req.url.slice(PREFIX.length);
  const fwd = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers },
    (up) => {
      const headers = { ...up.headers };
      // A relative Location needs no rewriting; an absolute path would.
      if (headers.location?.startsWith('/')) headers.location = PREFIX + headers.location;
      res.writeHead(up.statusCode, headers);
      up.pipe(res);
    },
  );
  fwd.on('error', () => res.writeHead(502).end());
  req.pipe(fwd);
});
proxy.on('upgrade', (req, socket, head) => {
  seen.push(req.url);
  const path = req.url.startsWith(`${PREFIX}/`) ? req.url.slice(PREFIX.length) : req.url;
  const up = net.connect(Number(upstream.port), upstream.hostname, () => {
    const lines = [`${req.method} ${path} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), '', ''];
    up.write(lines.join('\r\n'));
    up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.on('error', () => socket.destroy());
  socket.on('error', () => up.destroy());
});
await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${proxy.address().port}${PREFIX}/`;
env.url = base;

await run('subpath', async (page) => {
  await page.addInitScript(() => localStorage.setItem('ccweb.terminalRenderer', 'dom'));
  await login(page, base);
  await newSession(page, 'terminal');
  await until('the welcome screen through the proxy', async () =>
    (await page.locator('.xterm-rows').innerText().catch(() => '')).includes('Claude Code v2.1.197'));
  const outside = seen.filter((u) => !u.startsWith(`${PREFIX}/`));
  if (outside.length) throw new Error(`requests left the sub-path: ${outside.join(', ')}`);
  if (!seen.some((u) => u.startsWith(`${PREFIX}/api/claude/sessions/`) && u.includes('/terminal'))) {
    throw new Error(`the terminal socket did not go through the proxy: ${seen.join(', ')}`);
  }
});
proxy.close();
proxy.closeAllConnections?.();
