import { z } from 'zod';
import { expects } from './issues.js';

/**
 * The schemas of one process (SPEC §3). Every key carries a description: the JSON Schema hands it
 * to editors, which show it on hover.
 */

export const ms = z.number().int().nonnegative();
export const port = z.number().int().min(1).max(65535);
const signal = z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL']);

const readyTimeout = (def: number) =>
  ms
    .default(def)
    .describe(
      `Milliseconds a new child has to become ready; not ready by then = a failed start. Default ${def}.`,
    );

export const readySchema = z
  .union([
    z
      .strictObject({
        http: z
          .url()
          .describe('Ready when a GET of this URL answers 2xx or 3xx, e.g. "http://127.0.0.1:3100/health".'),
        timeoutMs: readyTimeout(30_000),
      })
      .describe('Readiness by an HTTP answer.'),
    z
      .strictObject({
        tcp: port.describe('Ready when a TCP connection to this port succeeds, e.g. 3100.'),
        host: z
          .string()
          .default('127.0.0.1')
          .describe('Host the tcp check connects to. Default "127.0.0.1".'),
        timeoutMs: readyTimeout(30_000),
      })
      .describe('Readiness by a TCP connection.'),
    z
      .strictObject({
        message: z
          .string()
          .min(1)
          .describe(
            'Ready when the child prints a line containing this text on stdout (or, with "listen", calls process.send("ready")), e.g. "ready".',
          ),
        timeoutMs: readyTimeout(30_000),
      })
      .describe('Readiness by a message of the child.'),
  ])
  .describe(
    'When a new child counts as ready: {"http": url}, {"tcp": port} or {"message": text}. Without it a child is online as soon as it is spawned.',
  );

export const restartSchema = z
  .strictObject({
    policy: z
      .enum(['always', 'on-failure', 'never'])
      .default('always')
      .describe(
        'When an exited child is started again: "always", "on-failure" (unless it exited with code 0 and no signal) or "never". Default "always".',
      ),
    minUptimeMs: ms
      .default(1_000)
      .describe(
        'Milliseconds of running that make a run stable: a crash after it restarts at once and does not count towards maxRestarts. Default 1000.',
      ),
    maxRestarts: z
      .number()
      .int()
      .nonnegative()
      .default(10)
      .describe(
        'Unstable crashes (runs shorter than minUptimeMs) allowed within windowMs before "errored". Default 10.',
      ),
    windowMs: ms
      .default(60_000)
      .describe('Milliseconds over which unstable crashes are counted. Default 60000.'),
    backoff: z
      .strictObject({
        initialMs: ms
          .default(100)
          .describe('First delay in milliseconds (the first restart is immediate). Default 100.'),
        maxMs: ms.default(15_000).describe('Longest delay in milliseconds. Default 15000.'),
      })
      .prefault({})
      .describe('Delay before restarting after an unstable crash: doubles from initialMs up to maxMs.'),
    cooldownMs: ms
      .default(60_000)
      .describe(
        'An errored process is tried again once every this many milliseconds; 0 = never. Default 60000.',
      ),
  })
  .describe('What happens when a child exits.');

export const stopSchema = z
  .strictObject({
    signal: signal
      .default('SIGTERM')
      .describe('Signal sent to the child\'s process group to stop it. Default "SIGTERM".'),
    timeoutMs: ms
      .default(10_000)
      .describe('Milliseconds to wait after the signal before SIGKILL to the whole group. Default 10000.'),
  })
  .describe('How a child is stopped.');

export const logsSchema = z
  .strictObject({
    maxSize: z
      .string()
      .regex(/^\d+[BKMG]$/, expects('a size like "10M"'))
      .default('10M')
      .describe(
        'Rotate a log file once it reaches this size: digits and B, K, M or G, e.g. "50M". Default "10M".',
      ),
    interval: z
      .string()
      .regex(/^\d+[smhdM]$/, expects('an interval like "1d"'))
      .optional()
      .default('1d')
      .describe(
        'Also rotate every interval, aligned on the UTC clock: digits and s, m, h, d or M (months); "1d" rotates at 00:00 UTC. Default "1d".',
      ),
    maxFiles: z
      .number()
      .int()
      .positive()
      .default(14)
      .describe('Rotated copies kept per log file. Default 14.'),
    compress: z.boolean().default(true).describe('Gzip rotated copies. Default true.'),
    time: z
      .boolean()
      .default(true)
      .describe(
        'Start every line with the UTC time the daemon read it, e.g. "2026-12-07T21:03:58.123Z "; false for an app that stamps its own lines. Default true.',
      ),
  })
  .describe('Rotation of <base>/logs/<process>.out.log and .err.log.');

const common = {
  autostart: z
    .boolean()
    .default(true)
    .describe(
      'Start when the daemon starts (a process last stopped with `bstctl stop` stays stopped). Default true.',
    ),
  stop: stopSchema.prefault({}),
  restart: restartSchema.prefault({}),
  logs: logsSchema.prefault({}),
};

export const appProcessSchema = z
  .strictObject({
    type: z
      .literal('process')
      .default('process')
      .describe('"process" (the default): a command bstctl runs. "redis" for a redis-server bstctl manages.'),
    command: z
      .union([
        z.string().min(1).describe('A shell command line, run through /bin/sh -c, e.g. "node dist/main.js".'),
        z
          .array(z.string().describe('One argument.'))
          .min(1)
          .describe('The program and its arguments, run without a shell, e.g. ["node", "dist/main.js"].'),
      ])
      .describe('What to run: an argv array, or a string run through /bin/sh -c.'),
    cwd: z
      .string()
      .optional()
      .describe(
        'Working folder, relative to the release (the realpath of <base>/current) on a release target, else to base, e.g. "apps/core-api".',
      ),
    env: z
      .record(z.string(), z.string().describe('The value, a string.'))
      .default({})
      .describe(
        'Variables for this process, over the target\'s env file, e.g. {"PORT": "3100"}. Default {}.',
      ),
    ready: readySchema.optional(),
    listen: z
      .strictObject({
        port: port.describe('Port of the socket the supervisor listens on, e.g. 3100.'),
        host: z.string().default('127.0.0.1').describe('Address the socket binds. Default "127.0.0.1".'),
        // the preload serves the app's own listen(port) privately until ready, then from this socket
        preload: z
          .boolean()
          .default(true)
          .describe(
            "A Node app gets bstctl's preload, so its own listen(PORT) needs no change. false: the app listens on fd 3 (LISTEN_FDS=1) itself and readiness must be a ready message. Default true.",
          ),
      })
      .optional()
      .describe(
        'Zero downtime: the supervisor owns this listening socket and hands it to each new child once it is ready.',
      ),
    ...common,
  })
  .describe('An app process: a command bstctl runs and supervises.');

export const redisProcessSchema = z
  .strictObject({
    type: z.literal('redis').describe('"redis": a redis-server run and managed by bstctl.'),
    port: port.describe('Port redis listens on, bound to 127.0.0.1, e.g. 6380. No two redis share one.'),
    dataDir: z
      .string()
      .default('shared/redis')
      .describe(
        'Folder of the data and of the conf bstctl writes (0700), relative to base. Default "shared/redis".',
      ),
    conf: z
      .string()
      .optional()
      .describe(
        "The operator's own redis.conf, relative to base; without it bstctl writes one into dataDir.",
      ),
    passwordEnv: z
      .string()
      .optional()
      .describe(
        'Env-file key whose value becomes requirepass, written only into the 0600 conf, e.g. "REDIS_PASSWORD".',
      ),
    bin: z
      .string()
      .default('redis-server')
      .describe('The redis-server program: a path, or a name looked up on PATH. Default "redis-server".'),
    ready: z
      .strictObject({
        timeoutMs: ms
          .default(10_000)
          .describe(
            'Milliseconds redis has to answer PING with the pid bstctl started (an AOF load counts). Default 10000.',
          ),
      })
      .prefault({})
      .describe('Readiness of redis: it answers PING and INFO names the pid bstctl started.'),
    ...common,
  })
  .describe('A redis-server that bstctl runs, health-checks and stops with SHUTDOWN SAVE.');

export const processSchema = z
  .discriminatedUnion('type', [appProcessSchema, redisProcessSchema])
  .describe('A process: an app ("type": "process", the default) or a redis ("type": "redis").');
