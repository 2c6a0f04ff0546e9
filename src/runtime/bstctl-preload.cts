/**
 * Loaded into a supervised Node app with `listen` (NODE_OPTIONS=--require), so that an app that only
 * calls `listen(process.env.PORT)` is replaced without a failed request. Node built-ins only: this
 * runs inside the operator's app.
 *
 * The app's `listen(PORT)` is taken over: its server listens on a private 127.0.0.1 port, which only
 * the supervisor's health check reaches. Once that check passed the supervisor says `serve`, and the
 * server gets the connections of the shared socket (fd 3) as well. `drain` stops accepting there,
 * closes each keep-alive connection after its next response (`Connection: close`) or once it stayed
 * idle past the server's keepAliveTimeout, and says `drained` when none is left.
 *
 * Control channel: fd 4, newline-delimited JSON. To the supervisor: {evt:"listening",port},
 * {evt:"serving"}, {evt:"drained"}, {evt:"error",message}, {evt:"send",message} (the app's
 * process.send(), PM2's ready signal). From it: {cmd:"serve"}, {cmd:"drain"}.
 *
 * fd 4 dies with the daemon that spawned the app, and a socketpair cannot be reopened: so, given
 * BST_CTL_DIR, the app also listens on `<BST_CTL_DIR>/<pid>.sock`, where each later daemon connects.
 * Each such connection first hears {evt:"hello",pid,port,serving} (what it missed while no daemon
 * listened); every event goes to every channel, and a command from any of them is obeyed.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

const LISTEN_FD = 3;
const CONTROL_FD = 4;
const PRIVATE_HOST = '127.0.0.1';

type Message = { evt: string; [k: string]: unknown };
type Tracked = { active: Set<ResLike>; idle: NodeJS.Timeout | null };

/**
 * `bigint: true` on purpose: a plain fstatSync of a socket leaves Node's one shared stat buffer saying
 * "socket", and fs.realpathSync (the module loader's) trusts that buffer for paths it has cached and
 * stops following symlinks — pnpm's nested dependencies are then not found (nodejs/node#51142).
 */
function isSocketFd(fd: number): boolean {
  try {
    return fs.fstatSync(fd, { bigint: true }).isSocket();
  } catch {
    return false;
  }
}

/**
 * `--require="<path>"` as the supervisor writes it into NODE_OPTIONS (quoted: NODE_OPTIONS is split on
 * spaces), or unquoted as an older supervisor did; the file is bstctl-preload[-<hash>].cjs.
 */
const SELF =
  /(^|\s)--require=(?:"(?:[^"\\]|\\.)*bstctl-preload[-\w]*\.cjs"|[^\s"]*bstctl-preload[-\w]*\.cjs)(?=\s|$)/g;

/** The app's own children (a build, a worker) must neither load this again nor touch fd 3 and 4. */
function forgetSelf(): void {
  const rest = (process.env.NODE_OPTIONS ?? '').replace(SELF, '$1').trim();
  if (rest === '') delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = rest;
  delete process.env.BST_LISTEN_PORT;
  delete process.env.BST_LISTEN_HOST;
  delete process.env.BST_CTL_DIR;
}

// sun_path holds 108 bytes with its NUL: a longer path cannot be listened on
const MAX_SOCKET_PATH = 107;

function unlink(path: string): void {
  try {
    fs.rmSync(path, { force: true });
  } catch {
    // not ours to remove (another user's folder): the bind or the next daemon says so
  }
}

/** A line reader for one channel: each whole line is handed on, a torn one waits for its rest. */
function lines(channel: net.Socket, onLine: (line: string) => void): void {
  let buffered = '';
  channel.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  });
}

/**
 * Every channel to a daemon: fd 4 from the one that spawned the app, and each
 * connection on the ctl socket. None keeps the app alive, and none going away harms it.
 */
function channels(
  listen: typeof net.Server.prototype.listen,
  ctlDir: string | undefined,
  hello: () => Message,
  onCommand: (cmd: unknown) => void,
): (m: Message) => void {
  const open = new Set<net.Socket>();
  const add = (s: net.Socket): void => {
    s.unref();
    s.on('error', () => undefined);
    open.add(s);
    s.once('close', () => open.delete(s));
    lines(s, (line) => {
      try {
        onCommand((JSON.parse(line) as { cmd?: unknown }).cmd);
      } catch {
        // not a command: ignored
      }
    });
  };
  add(new net.Socket({ fd: CONTROL_FD, readable: true, writable: true }));
  const path = ctlDir ? `${ctlDir}/${process.pid}.sock` : '';
  if (path && Buffer.byteLength(path) <= MAX_SOCKET_PATH) {
    const ctl = net.createServer((s) => {
      s.write(`${JSON.stringify(hello())}\n`);
      add(s);
    });
    ctl.on('error', () => undefined); // no folder, no room: fd 4 alone, as before
    // a file of an earlier process with this pid (killed outright) would make the bind fail
    unlink(path);
    listen.call(ctl, { path }, () => process.once('exit', () => unlink(path)));
    ctl.unref();
  }
  return (m) => {
    for (const s of open) if (s.writable) s.write(`${JSON.stringify(m)}\n`);
  };
}

/**
 * The port a `listen(...)` call asks for, in every form `net.Server#listen` takes; fd 3 (an app that
 * reads LISTEN_FDS itself) counts as the port it stands for; null for a path or another handle.
 */
function portOf(args: unknown[], publicPort: number): number | null {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) return Number(first);
  if (first && typeof first === 'object') {
    const o = first as { port?: unknown; path?: unknown; fd?: unknown; handle?: unknown; _handle?: unknown };
    if (o.fd === LISTEN_FD) return publicPort;
    if (o.path !== undefined || o.fd !== undefined || o.handle !== undefined || o._handle !== undefined) {
      return null;
    }
    if (typeof o.port === 'number' || (typeof o.port === 'string' && /^\d+$/.test(o.port))) {
      return Number(o.port);
    }
  }
  return null;
}

function start(publicPort: number, publicHost: string, ctlDir: string | undefined): void {
  const listen = net.Server.prototype.listen; // the real one, for what this file listens on itself
  let app: net.Server | null = null;
  let pub: net.Server | null = null;
  let privatePort: number | null = null;
  let serving = false;
  let draining = false;
  const hello = (): Message => ({ evt: 'hello', pid: process.pid, port: privatePort, serving });
  const broadcast = channels(listen, ctlDir, hello, (cmd) => {
    if (cmd === 'serve') serve();
    else if (cmd === 'drain') drain();
  });
  const send = (m: Message): void => {
    if (m.evt === 'listening') privatePort = Number(m.port);
    broadcast(m);
  };
  const sockets = new Map<net.Socket, Tracked>();

  const idleMs = (): number => {
    const ms = (app as { keepAliveTimeout?: number } | null)?.keepAliveTimeout;
    return typeof ms === 'number' && ms > 0 ? ms : 5_000;
  };
  const maybeDrained = (): void => {
    if (draining && sockets.size === 0) send({ evt: 'drained' });
  };
  // an idle connection of a draining child closes after the grace the app gives idle connections anyway
  const idleLater = (s: net.Socket, t: Tracked): void => {
    if (!draining || t.active.size > 0 || t.idle) return;
    t.idle = setTimeout(() => s.destroy(), idleMs());
    t.idle.unref();
  };
  const track = (s: net.Socket): void => {
    const t: Tracked = { active: new Set(), idle: null };
    sockets.set(s, t);
    s.once('close', () => {
      if (t.idle) clearTimeout(t.idle);
      sockets.delete(s);
      maybeDrained();
    });
    idleLater(s, t);
  };
  const onRequest = (req: { socket: net.Socket }, res: ResLike): void => {
    const t = sockets.get(req.socket);
    if (!t) return;
    t.active.add(res);
    if (t.idle) clearTimeout(t.idle);
    t.idle = null;
    if (draining) closeAfter(res);
    res.once('close', () => {
      t.active.delete(res);
      idleLater(req.socket, t);
    });
  };

  const serve = (): void => {
    // asked again (by a daemon that connected later): said again once it serves
    if (serving) send({ evt: 'serving' });
    if (!app || pub) return;
    const target = app;
    pub = relay.owns(target) ? relay.server() : net.createServer((s) => target.emit('connection', s));
    pub.once('error', (err) => send({ evt: 'error', message: `fd ${LISTEN_FD}: ${err.message}` }));
    listen.call(pub, { fd: LISTEN_FD }, () => {
      serving = !draining;
      send({ evt: 'serving' });
    });
  };
  const drain = (): void => {
    if (draining) return maybeDrained(); // asked again: said again once no connection is left
    draining = true;
    serving = false;
    pub?.close(); // this child's handle only: the socket stays open in the supervisor and the successor
    for (const [s, t] of sockets) {
      // a response whose headers are not sent yet ends its connection; an idle one gets its grace
      for (const res of t.active) closeAfter(res);
      idleLater(s, t);
    }
    maybeDrained();
  };

  // PM2's way of saying ready (process.send('ready')) works without an IPC channel: it travels here
  if (typeof process.send !== 'function') {
    (process as { send?: unknown }).send = (message: unknown, ...rest: unknown[]): boolean => {
      send({ evt: 'send', message: typeof message === 'string' ? message : JSON.stringify(message) });
      const done = rest.find((a) => typeof a === 'function') as (() => void) | undefined;
      if (done) process.nextTick(done);
      return true;
    };
  }

  // the app asks where it listens: the answer is the port it asked for, from before the first
  // 'listening' handler runs (Next prints its banner there) until the server closes
  const address = net.Server.prototype.address;
  const publicAddress = function (this: net.Server): ReturnType<net.Server['address']> {
    const real = address.call(this);
    if (real === null || typeof real === 'string') return real;
    return { address: publicHost, family: net.isIPv6(publicHost) ? 'IPv6' : 'IPv4', port: publicPort };
  };
  const relay = workersRelay(listen, publicPort, send);
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]): net.Server {
    if (portOf(args, publicPort) !== publicPort) return listen.apply(this, args as never);
    const done = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    if (isRoundRobin(this)) {
      // the first one is the server `serve` starts: through the relay, for every later one too
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the one server the supervisor steers
      app ??= this;
      return relay.listen(this, done);
    }
    this.address = publicAddress;
    // a second server on the same port (Fastify's ::1 beside 127.0.0.1 for "localhost") listens
    // privately too: the port is the supervisor's, every request of it comes through the handover
    if (app) return listen.call(this, { port: 0, host: PRIVATE_HOST }, done);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the one server the supervisor steers
    app = this;
    this.on('connection', track);
    // before the app's own handler, which may answer at once
    this.prependListener('request', onRequest as never);
    // before the app's own 'listening' handlers: the supervisor learns the private port first
    this.prependOnceListener('listening', () => {
      send({ evt: 'listening', port: (address.call(this) as net.AddressInfo).port });
    });
    return listen.call(this, { port: 0, host: PRIVATE_HOST }, done);
  } as typeof net.Server.prototype.listen;
}

/**
 * A cluster primary listens for its workers through a round-robin handle: a server made with
 * `net.createServer(assert.fail)` whose handle's connections go to the workers. (Its 'connection'
 * event is never used: emitting one would throw.) Connections must reach that handle instead.
 */
function isRoundRobin(server: net.Server): boolean {
  const listeners = server.listeners('connection');
  // a worker has NODE_UNIQUE_ID; only the primary makes round-robin servers
  return listeners.length === 1 && listeners[0]?.name === 'fail' && process.env.NODE_UNIQUE_ID === undefined;
}

interface TcpHandle {
  getsockname(out: { port?: number; address?: string }): number;
  close(...args: unknown[]): unknown;
  onconnection?: (err: number, client: { close(): void } | undefined) => void;
}

/**
 * Node's `cluster` under `listen`: the primary's round-robin server for the public port listens on a
 * private port (the supervisor's health check reaches the workers there), and says the public port
 * to the workers that ask (a worker refuses a handle bound to another port than it asked for:
 * EADDRINUSE). Once serving, the connections of fd 3 go to the same round-robin distribution. When
 * every worker died, cluster closes that server and makes a new one: it gets the same private port.
 */
function workersRelay(
  listen: typeof net.Server.prototype.listen,
  publicPort: number,
  send: (m: Message) => void,
): {
  owns(s: net.Server): boolean;
  listen(s: net.Server, done?: () => void): net.Server;
  server(): net.Server;
} {
  const servers = new WeakSet<net.Server>();
  let privatePort = 0;
  let current: TcpHandle | null = null;
  return {
    owns: (s) => servers.has(s),
    listen(server, done) {
      servers.add(server);
      return listen.call(server, { port: privatePort, host: PRIVATE_HOST }, () => {
        const handle = (server as unknown as { _handle: TcpHandle })._handle;
        const own = handle.getsockname.bind(handle);
        const out: { port?: number } = {};
        own(out);
        if (privatePort === 0) send({ evt: 'listening', port: out.port });
        privatePort = out.port ?? 0;
        handle.getsockname = (o) => {
          const err = own(o);
          o.port = publicPort;
          return err;
        };
        // cluster closes it once its last worker is gone; until the next one listens, fd 3 refuses
        const close = handle.close.bind(handle);
        handle.close = (...a) => {
          if (current === handle) current = null;
          return close(...a);
        };
        current = handle;
        done?.call(server);
      });
    },
    server() {
      const pub = net.createServer();
      pub.once('listening', () => {
        // the handle cluster listens on hands each connection to a free worker
        const h = (pub as unknown as { _handle: TcpHandle })._handle;
        h.onconnection = (err, client) => {
          if (current?.onconnection) current.onconnection(err, client);
          else client?.close();
        };
      });
      return pub;
    },
  };
}

function closeAfter(res: ResLike): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

interface ResLike extends NodeJS.EventEmitter {
  headersSent: boolean;
  setHeader(name: string, value: string): unknown;
}

const port = Number(process.env.BST_LISTEN_PORT);
const host = process.env.BST_LISTEN_HOST ?? PRIVATE_HOST;
const ctlDir = process.env.BST_CTL_DIR;
forgetSelf();
if (Number.isInteger(port) && port > 0 && isSocketFd(LISTEN_FD) && isSocketFd(CONTROL_FD)) {
  start(port, host, ctlDir);
}
