import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { BstError, toBstError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { VERSION } from '../../version.js';
import { refuseIfAnswers } from '../../wire.js';
import { parse, type Shape } from '../../shape.js';
import {
  encode,
  isMethod,
  LineDecoder,
  methods,
  requestShape,
  type Method,
  type Params,
  type Reply,
} from '../../protocol.js';

export interface CallContext {
  progress(line: string): void;
}
export type Handlers = { [M in Method]: (params: Params<M>, ctx: CallContext) => Promise<unknown> };

/** A client that sends half a line and then nothing is dropped after this long. */
const IDLE_MS = 10_000;
/** Requests of one connection handled at once: a pipelining client cannot starve the others. */
const MAX_IN_FLIGHT = 4;
/** Replies a client has not read yet: past this the daemon stops reading its requests. */
const MAX_UNREAD_BYTES = 1024 * 1024;

/**
 * Makes the socket's folder 0700 and refuses one owned by somebody else. Only a folder the daemon
 * made, or its state folder, is ever chmodded: any other one (`/run`, `/tmp`) must be 0700 already.
 */
export function prepareSocketDir(socketPath: string, stateDir: string): void {
  const dir = dirname(socketPath);
  const made = mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined;
  const st = statSync(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (st.uid !== uid) {
    throw new BstError('failed', `socket folder ${dir} belongs to uid ${st.uid}, not to this user (${uid})`, {
      hint: 'use a daemon.stateDir of your own, or fix the folder owner',
    });
  }
  const mode = st.mode & 0o777;
  if (mode === 0o700) return;
  if (!made && resolve(dir) !== resolve(stateDir)) {
    throw new BstError(
      'failed',
      `socket folder ${dir} is mode ${mode.toString(8)}, not 0700: put the socket in a folder of its own`,
      {
        hint: `e.g. "daemon.socket": "${join(dir, 'bst', basename(socketPath))}" (the daemon makes it 0700), or leave "socket" out`,
      },
    );
  }
  chmodSync(dir, 0o700);
}

/**
 * Listens on the daemon's socket: `inheritedFd`, the one a daemon that upgraded handed over (the path
 * never goes missing), else a new socket bound under a name of its own and renamed onto the path. So
 * closing the server unlinks only that first name: a daemon that hands its socket over stops accepting
 * without removing the path its successor serves (libuv unlinks the bound name at close).
 */
export async function listen(
  socketPath: string,
  handlers: Handlers,
  logger: Logger,
  inheritedFd: number | null = null,
): Promise<Server> {
  // half-open: `printf … | nc -U` ends its side after the request and still waits for the reply
  const server = createServer({ allowHalfOpen: true }, (socket) => serve(socket, handlers, logger));
  if (inheritedFd !== null) {
    await listening(server, { fd: inheritedFd });
    return server;
  }
  if (existsSync(socketPath) || isSocketLink(socketPath)) {
    await refuseIfAnswers(socketPath);
    unlinkSync(socketPath); // stale: left by a daemon killed outright
  }
  const fresh = join(dirname(socketPath), `.${basename(socketPath)}.${process.pid}`);
  // sun_path holds 107 bytes: a path near that binds under its own name (an upgrade then leaves it open)
  const bound = Buffer.byteLength(fresh) <= 107 ? fresh : socketPath;
  rmSync(bound, { force: true });
  const oldMask = process.umask(0o177); // the socket is born 0600: no window where others could connect
  try {
    await listening(server, { path: bound });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(bound, 0o600);
  if (bound !== socketPath) renameSync(bound, socketPath);
  boundNames.set(server, bound);
  return server;
}

/** The name each server was bound under: closing it unlinks that name. */
const boundNames = new WeakMap<Server, string>();

function listening(server: Server, where: { fd: number } | { path: string }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * After a handover: accepts no more connections (those waiting are the successor's to accept), and
 * resolves once the open ones ended or after `ms`. The socket path stays: the successor listens on it.
 */
export function stopAccepting(server: Server, socketPath: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    // a server bound right at the path would unlink it when closed: it is left open until the exit
    if (boundNames.get(server) === socketPath) return;
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** At shutdown: the socket path goes with the daemon (the server was bound under another name). */
export function removeSocket(socketPath: string): void {
  rmSync(socketPath, { force: true });
}

function isSocketLink(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function serve(socket: Socket, handlers: Handlers, logger: Logger): void {
  const decoder = new LineDecoder();
  const waiting: string[] = []; // whole lines read but not yet handled: at most one chunk's worth
  let inFlight = 0;
  let ended = false; // the client sent all it will: answer it, then close
  const send = (reply: Reply): void => {
    if (!socket.destroyed) socket.write(encode(reply));
  };
  // backpressure: read on only while few requests run and the client reads its replies
  const pump = (): void => {
    while (waiting.length > 0 && inFlight < MAX_IN_FLIGHT && socket.writableLength < MAX_UNREAD_BYTES) {
      inFlight++;
      void handle(waiting.shift() as string, handlers, send, logger).finally(() => {
        inFlight--;
        pump();
      });
    }
    if (socket.destroyed) return;
    if (waiting.length > 0) socket.pause();
    else if (ended && inFlight === 0) socket.end();
    else socket.resume();
  };
  socket.setTimeout(IDLE_MS, () => {
    if (inFlight === 0) socket.destroy();
  });
  socket.on('error', () => socket.destroy());
  socket.on('drain', pump);
  socket.on('end', () => {
    ended = true;
    const last = decoder.rest();
    if (last.trim() !== '') waiting.push(last);
    pump();
  });
  socket.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = decoder.push(chunk);
    } catch (err) {
      send({ id: 0, ok: false, error: { code: 'protocol', message: (err as Error).message } });
      socket.end();
      socket.destroy();
      return;
    }
    waiting.push(...lines.filter((line) => line.trim() !== ''));
    pump();
  });
}

async function handle(
  line: string,
  handlers: Handlers,
  send: (r: Reply) => void,
  logger: Logger,
): Promise<void> {
  let id = 0;
  try {
    const raw: unknown = JSON.parse(line);
    const rawId = (raw as { id?: unknown } | null)?.id;
    if (Number.isInteger(rawId)) id = rawId as number; // the error reply still names its request
    const parsed = parse(requestShape, raw);
    if (!parsed.ok) throw malformed(parsed.problems);
    const req = parsed.data;
    id = req.id;
    if (!isMethod(req.method)) {
      throw new BstError('protocol', `unknown method "${req.method}"`, {
        hint: 'the CLI and the daemon differ in version',
      });
    }
    const params = parse(methods[req.method] as Shape<unknown>, req.params ?? {});
    if (!params.ok) throw badParams(req.method, params.problems);
    const handler = handlers[req.method] as (p: unknown, c: CallContext) => Promise<unknown>;
    const result = await handler(params.data, { progress: (l) => send({ id, progress: l }) });
    send({ id, ok: true, result, version: VERSION });
  } catch (err) {
    const e =
      err instanceof SyntaxError
        ? new BstError('protocol', `malformed request: not JSON (${err.message})`)
        : toBstError(err);
    if (e.code === 'internal') logger.error({ evt: 'request-failed', err: e.message });
    const error = { code: e.code, message: e.message, hint: e.hint, details: e.details };
    send({ id, ok: false, error, version: VERSION });
  }
}

/** An envelope that does not validate, named field by field: `malformed request: id: expected an integer, got "7"`. */
function malformed(problems: string[]): BstError {
  return new BstError('protocol', `malformed request: ${problems.join('; ')}`, {
    hint: 'a request is one line of JSON: {"v":1,"id":<number>,"method":"<name>","params":{…}}',
    details: problems,
  });
}

/** Params that do not validate are bad input (exit 2), named: `deploy: ref: expected a non-empty string`. */
function badParams(method: Method, found: string[]): BstError {
  const problems = found.map((p) => `${method}: ${p}`);
  return new BstError('invalid_input', problems[0] ?? `${method}: bad params`, { details: problems });
}
