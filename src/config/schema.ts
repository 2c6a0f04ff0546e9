import { z } from 'zod';

/** zod schemas: the only source of config types, defaults and the JSON Schema (SPEC §3). */

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a name of letters, digits, ".", "_" or "-"');
const ms = z.number().int().nonnegative();
const port = z.number().int().min(1).max(65535);
const signal = z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL']);

export const readySchema = z.union([
  z.strictObject({ http: z.url(), timeoutMs: ms.default(30_000) }),
  z.strictObject({ tcp: port, host: z.string().default('127.0.0.1'), timeoutMs: ms.default(30_000) }),
  z.strictObject({ message: z.string().min(1), timeoutMs: ms.default(30_000) }),
]);

export const restartSchema = z.strictObject({
  policy: z.enum(['always', 'on-failure', 'never']).default('always'),
  minUptimeMs: ms.default(1_000),
  maxRestarts: z.number().int().nonnegative().default(10),
  windowMs: ms.default(60_000),
  backoff: z.strictObject({ initialMs: ms.default(100), maxMs: ms.default(15_000) }).prefault({}),
  cooldownMs: ms.default(60_000),
});

export const stopSchema = z.strictObject({
  signal: signal.default('SIGTERM'),
  timeoutMs: ms.default(10_000),
});

export const logsSchema = z.strictObject({
  maxSize: z
    .string()
    .regex(/^\d+[BKMG]$/, 'expected a size like "10M"')
    .default('10M'),
  interval: z
    .string()
    .regex(/^\d+[smhdM]$/, 'expected an interval like "1d"')
    .optional()
    .default('1d'),
  maxFiles: z.number().int().positive().default(14),
  compress: z.boolean().default(true),
});

const common = {
  autostart: z.boolean().default(true),
  stop: stopSchema.prefault({}),
  restart: restartSchema.prefault({}),
  logs: logsSchema.prefault({}),
};

export const appProcessSchema = z.strictObject({
  type: z.literal('process').default('process'),
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
  ready: readySchema.optional(),
  /** The supervisor owns this socket and hands it to the child as fd 3 (LISTEN_FDS=1): reload without downtime. */
  listen: z
    .strictObject({
      port,
      host: z.string().default('127.0.0.1'),
      /**
       * A Node app gets bstctl's preload: its own listen(port) is served privately until the health
       * check passed, then from this socket. false: the app reads fd 3 (LISTEN_FDS) itself.
       */
      preload: z.boolean().default(true),
    })
    .optional(),
  ...common,
});

export const redisProcessSchema = z.strictObject({
  type: z.literal('redis'),
  port,
  dataDir: z.string().default('shared/redis'),
  conf: z.string().optional(),
  passwordEnv: z.string().optional(),
  bin: z.string().default('redis-server'),
  ready: z.strictObject({ timeoutMs: ms.default(10_000) }).prefault({}),
  ...common,
});

export const processSchema = z.discriminatedUnion('type', [appProcessSchema, redisProcessSchema]);

export const sourceSchema = z.union([
  z.strictObject({ git: z.string().min(1), ref: z.string().min(1).default('main') }),
  z.strictObject({ path: z.string().min(1) }),
]);

export const releasesSchema = z.strictObject({
  source: sourceSchema,
  build: z.array(z.string().min(1)).default([]),
  shared: z.array(z.string().min(1)).default(['.env']),
  keep: z.number().int().min(1).default(5),
  stepTimeoutMs: ms.default(600_000),
});

export const envSchema = z.strictObject({
  file: z.string().optional(),
  required: z.array(z.string().min(1)).default([]),
  canaryFlags: z.array(z.string().min(1)).default([]),
});

export const smokeSchema = z.strictObject({
  name: z.string().min(1),
  url: z.url(),
  method: z.enum(['GET', 'POST', 'PUT', 'HEAD']).default('GET'),
  body: z.string().optional(),
  sign: z.strictObject({ tokenEnv: z.string().min(1), secretEnv: z.string().min(1) }).optional(),
  expectStatus: z.number().int().default(200),
  timeoutMs: ms.default(5_000),
});

export const targetSchema = z.strictObject({
  description: z.string().optional(),
  area: z.string().optional(),
  base: z.string().min(1),
  reserved: z.boolean().default(false),
  releases: releasesSchema.optional(),
  env: envSchema.prefault({}),
  processes: z.record(name, processSchema).default({}),
  smoke: z.array(smokeSchema).default([]),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  daemon: z
    .strictObject({
      stateDir: z.string().default('~/.bst'),
      socket: z.string().optional(),
      logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      passEnv: z
        .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'))
        .default(['NODE_ENV'])
        .describe(
          "Variables of the daemon's own environment (when set) that every process and every build step receives, besides PATH, HOME, USER, LOGNAME, SHELL, locale, TZ and TMPDIR; the target's env file and the process's env override them.",
        ),
    })
    .prefault({}),
  forbiddenPaths: z.array(z.string()).default([]),
  targets: z.record(name, targetSchema),
});

export type Config = z.output<typeof configSchema>;
export type TargetConfig = z.output<typeof targetSchema>;
export type ProcessConfig = z.output<typeof processSchema>;
export type AppProcessConfig = z.output<typeof appProcessSchema>;
export type RedisProcessConfig = z.output<typeof redisProcessSchema>;
export type ReadyConfig = z.output<typeof readySchema>;
export type LogsConfig = z.output<typeof logsSchema>;
export type SmokeConfig = z.output<typeof smokeSchema>;

/** The JSON Schema editors use (`bstctl config schema`, bst.supervisor.schema.json). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
  return {
    ...schema,
    title: 'bst.supervisor.json',
    description: 'bstctl supervisor and release configuration',
  };
}
