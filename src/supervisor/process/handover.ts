import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { LineDecoder, MAX_LINE_BYTES } from '../../wire.js';
import { PIPE_CLOSED } from './not-ready.js';

/** What the supervisor injects into a Node process with `listen` (src/runtime/bstctl-preload.cts). */
export const PRELOAD_PATH = fileURLToPath(new URL('../../runtime/bstctl-preload.cjs', import.meta.url));

/**
 * `--require="<path>"`: NODE_OPTIONS is split on spaces (an install under `/opt/my tools` would load
 * `/opt/my`); inside double quotes Node takes a backslash as escaping the next character.
 */
export function requireOption(path: string): string {
  return `--require="${path.replace(/["\\]/g, '\\$&')}"`;
}

/** The env that makes the preload take over `listen(port)` in the child; NODE_OPTIONS keeps what it had. */
export function preloadEnv(
  env: Record<string, string>,
  port: number,
  host: string,
  preload = PRELOAD_PATH,
): Record<string, string> {
  const before = env.NODE_OPTIONS?.trim();
  const require = requireOption(preload);
  return {
    ...env,
    NODE_OPTIONS: before ? `${before} ${require}` : require,
    BST_LISTEN_PORT: String(port),
    BST_LISTEN_HOST: host,
  };
}

/**
 * The supervisor's end of a child's control channel (fd 4, or a connection on its ctl socket, which
 * starts with a hello): the child's news, and the two commands.
 */
export interface Control {
  /** The private port the app listens on until it is told to serve. */
  listening: Promise<number>;
  /** Whether the app serves the shared socket: from its hello and its news; null before either said. */
  readonly serving: boolean | null;
  /** Opens the shared socket to the app; resolves once it accepts there. */
  serve(): Promise<void>;
  /** Stops accepting, ends keep-alive connections; resolves once none is left. */
  drain(): Promise<void>;
  /** Resolves once the app's process.send() passed a message containing `needle` (PM2's 'ready'). */
  said(needle: string): Promise<void>;
}

export function control(channel: Duplex): Control {
  const waiting = new Map<string, ((m: Record<string, unknown>) => void)[]>();
  const sayings: [string, () => void][] = [];
  let serving: boolean | null = null;
  let failure: Error | null = null;
  const failed: ((err: Error) => void)[] = [];
  const next = (evt: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      waiting.set(evt, [...(waiting.get(evt) ?? []), resolve]);
      failed.push(reject);
    });
  const fail = (err: Error): void => {
    failure ??= err;
    for (const reject of failed.splice(0)) reject(failure);
  };
  channel.on('error', () => undefined);
  const onLine = (line: string): void => {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (m.evt === 'error') return fail(new Error(String(m.message)));
    if (m.evt === 'send') {
      const text = String(m.message);
      for (const [needle, resolve] of sayings) if (text.includes(needle)) resolve();
      return;
    }
    if (m.evt === 'hello') {
      serving = m.serving === true;
      // what a daemon that connected late missed: the private port the app listens on, if it does yet
      if (typeof m.port === 'number') m = { evt: 'listening', port: m.port };
    }
    if (m.evt === 'serving') serving = true;
    if (m.evt === 'drained') serving = false;
    const evt = String(m.evt);
    for (const resolve of waiting.get(evt) ?? []) resolve(m);
    waiting.delete(evt);
  };
  // bounded as the socket's requests are: an app writing its log to fd 4 must not grow the daemon
  const lines = new LineDecoder(MAX_LINE_BYTES);
  channel.on('data', (chunk: Buffer) => {
    let got: string[];
    try {
      got = lines.push(chunk);
    } catch {
      fail(new Error(`the app wrote a line over ${MAX_LINE_BYTES} bytes to bstctl's preload pipe (fd 4)`));
      channel.destroy();
      return;
    }
    for (const line of got) onLine(line);
  });
  for (const e of ['end', 'close']) channel.on(e, () => fail(new Error(PIPE_CLOSED)));
  const send = (cmd: string): void =>
    void (channel.writable && channel.write(`${JSON.stringify({ cmd })}\n`));
  const listening = next('listening').then((m) => Number(m.port));
  listening.catch(() => undefined); // judged by whoever awaits it
  return {
    listening,
    get serving() {
      return serving;
    },
    serve: () => {
      const serving = next('serving');
      send('serve');
      return serving.then(() => undefined);
    },
    said: (needle) => new Promise<void>((resolve) => sayings.push([needle, resolve])),
    drain: () => {
      serving = false; // it stops accepting at once; 'drained' says when its connections are gone
      const drained = next('drained');
      send('drain');
      return drained.then(() => undefined);
    },
  };
}
