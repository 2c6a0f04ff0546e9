import { z } from 'zod';
import { DEFAULT_KEEP_BACKUPS } from '../env/backups.js';
import { expects } from './issues.js';
import { hookSchema } from './hooks-schema.js';
import {
  appProcessSchema,
  logsSchema,
  ms,
  processSchema,
  readySchema,
  redisProcessSchema,
} from './process-schema.js';

export {
  appProcessSchema,
  logsSchema,
  processSchema,
  readySchema,
  redisProcessSchema,
  restartSchema,
  stopSchema,
} from './process-schema.js';

/**
 * zod schemas: the only source of config types, defaults and the JSON Schema (SPEC §3). Every key
 * carries a description (what it is, its unit, its default, an example): editors show it on hover.
 */

const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    expects('a name of up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
  );

export const sourceSchema = z
  .union([
    z
      .strictObject({
        git: z
          .string()
          .min(1)
          .describe(
            'Git repository a release is taken from by git archive, relative to the config file, e.g. "/home/bonk/src/bst".',
          ),
        ref: z
          .string()
          .min(1)
          .default('main')
          .describe('Branch, tag or commit deployed when `bstctl deploy` gets no --ref. Default "main".'),
      })
      .describe('Releases from a git repository.'),
    z
      .strictObject({
        path: z
          .string()
          .min(1)
          .describe(
            'Folder copied into each release (without node_modules and .git), relative to the config file.',
          ),
      })
      .describe('Releases copied from a folder.'),
  ])
  .describe('Where a release comes from: {"git": repo, "ref": "main"} or {"path": dir}.');

export const releasesSchema = z
  .strictObject({
    source: sourceSchema,
    build: z
      .array(z.string().min(1).describe('One build step, e.g. "pnpm --filter @bst/core-api build".'))
      .default([])
      .describe(
        'Shell commands run in order through /bin/sh -c in the new release folder, e.g. ["pnpm install --frozen-lockfile"]. Default [].',
      ),
    shared: z
      .array(z.string().min(1).describe('A path under <base>/shared, e.g. ".env" or "uploads".'))
      .default(['.env'])
      .describe(
        'Paths linked from <base>/shared into each release; each must exist before a deploy (bstctl never creates an empty .env). Default [".env"].',
      ),
    keep: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('Built releases kept by prune (current and the one before it always stay). Default 5.'),
    settleMs: ms
      .default(10_000)
      .describe(
        'Milliseconds a release is watched after a deploy, rollback or drill leg passed its gates: a crash or failed readiness in that window switches back and fails the operation. 0 turns the watch off. Default 10000.',
      ),
    stepTimeoutMs: ms
      .default(600_000)
      .describe('Milliseconds each build step may take. Default 600000 (10 minutes).'),
  })
  .describe('Makes this a release target: <base>/releases/<id>, <base>/current, <base>/shared, <base>/logs.');

export const envSchema = z
  .strictObject({
    file: z
      .string()
      .optional()
      .describe(
        'The env file, relative to base. Default "shared/.env" on a release target, ".env" otherwise.',
      ),
    required: z
      .array(z.string().min(1).describe('A key of the env file, e.g. "OPS_DB_URL".'))
      .default([])
      .describe(
        'Keys that must be present and non-empty in the env file before a deploy switches. Default [].',
      ),
    canaryFlags: z
      .array(
        z
          .string()
          .min(1)
          .describe(
            'A key, or a pattern where * matches any run of characters, e.g. "OPS_READ_NEW_MODEL_*".',
          ),
      )
      .default([])
      .describe('The flag keys `bstctl flags` may turn on and off. Default [].'),
    keepBackups: z
      .number()
      .int()
      .min(1)
      .default(DEFAULT_KEEP_BACKUPS)
      .describe(
        `Backups of the env file (<file>.bak-<UTC stamp>) kept after a flags or env sync write; older ones are removed, each being a full copy of the secrets. Default ${DEFAULT_KEEP_BACKUPS}.`,
      ),
  })
  .describe("The target's env file and the keys it must hold.");

export const smokeSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .describe('Name of the check in the deploy log and the evidence, e.g. "ingest-handshake".'),
    url: z.url().describe('URL requested, e.g. "http://127.0.0.1:3100/ingest/handshake".'),
    method: z
      .enum(['GET', 'POST', 'PUT', 'HEAD'])
      .default('GET')
      .describe('HTTP method: "GET", "POST", "PUT" or "HEAD". Default "GET".'),
    body: z
      .string()
      .optional()
      .describe('Request body, sent as is (a signed check sends "{}" unless given).'),
    sign: z
      .strictObject({
        tokenEnv: z
          .string()
          .min(1)
          .describe('Env-file key of the token sent as X-Ingest-Token, e.g. "INGEST_SERVICE_TOKEN".'),
        secretEnv: z
          .string()
          .min(1)
          .describe('Env-file key of the HMAC secret, e.g. "INGEST_SERVICE_SECRET".'),
      })
      .optional()
      .describe(
        'Sign the request: X-Ingest-Token, X-Ingest-Timestamp and X-Ingest-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>").',
      ),
    expectStatus: z.number().int().default(200).describe('The HTTP status that passes. Default 200.'),
    timeoutMs: ms.default(5_000).describe('Milliseconds the request may take. Default 5000.'),
  })
  .describe('One HTTP check.');

export const targetSchema = z
  .strictObject({
    description: z
      .string()
      .optional()
      .describe('What the target is, for people (shown by `bstctl topology`).'),
    area: z
      .string()
      .optional()
      .describe('The area `bstctl topology` files it under, e.g. "backend". Default: its name.'),
    base: z
      .string()
      .min(1)
      .describe('The base folder, relative to the config file, e.g. "/home/bonk/backend/core-api-prod".'),
    reserved: z
      .boolean()
      .default(false)
      .describe('Known to doctor and topology only; every other command on it exits 2. Default false.'),
    releases: releasesSchema.optional(),
    env: envSchema.prefault({}),
    processes: z
      .record(name, processSchema)
      .default({})
      .describe(
        'Processes by name (letters, digits, ".", "_", "-"); a process id is "<target>/<name>". Default {}.',
      ),
    smoke: z
      .array(smokeSchema)
      .default([])
      .describe(
        'HTTP checks run by `bstctl smoke` and after the health gate of a deploy or rollback (a failure switches back). Default [].',
      ),
  })
  .describe('A target: a base folder, its processes and (with "releases") its releases.');

export const configSchema = z
  .strictObject({
    $schema: z
      .string()
      .optional()
      .describe('The JSON Schema editors use, e.g. "./bst.supervisor.schema.json".'),
    daemon: z
      .strictObject({
        stateDir: z
          .string()
          .default('~/.bst')
          .describe(
            'Folder of the daemon\'s state, socket and log, relative to the config file (~ = $HOME). Default "~/.bst".',
          ),
        socket: z
          .string()
          .optional()
          .describe('The daemon\'s Unix socket. Default "<stateDir>/supervisor.sock".'),
        logLevel: z
          .enum(['debug', 'info', 'warn', 'error'])
          .default('info')
          .describe('Level of the daemon\'s own log: "debug", "info", "warn" or "error". Default "info".'),
        log: z
          .strictObject({
            maxSize: z
              .string()
              .regex(/^\d+[BKMG]$/, expects('a size like "10M"'))
              .default('10M')
              .describe('Rotate <stateDir>/daemon.log once it reaches this size, e.g. "50M". Default "10M".'),
            maxFiles: z
              .number()
              .int()
              .positive()
              .default(5)
              .describe('Rotated copies of daemon.log kept. Default 5.'),
            compress: z.boolean().default(true).describe('Gzip rotated copies of daemon.log. Default true.'),
          })
          .prefault({})
          .describe("Rotation of the daemon's own log, <stateDir>/daemon.log, by size."),
        passEnv: z
          .array(
            z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, expects('an environment variable name'))
              .describe('A variable name, e.g. "NODE_ENV".'),
          )
          .default(['NODE_ENV'])
          .describe(
            "Variables of the daemon's own environment (when set) that every process and every build step receives, besides PATH, HOME, USER, LOGNAME, SHELL, locale, TZ and TMPDIR; the target's env file and the process's env override them. Default [\"NODE_ENV\"].",
          ),
      })
      .prefault({})
      .describe('The supervisor daemon itself.'),
    forbiddenPaths: z
      .array(z.string().describe('A path, e.g. "/home/bonk/masterbst".'))
      .default([])
      .describe(
        'Paths that must not exist, nor lead to a target; `bstctl doctor` fails when one does. Default [].',
      ),
    hooks: z
      .array(hookSchema)
      .default([])
      .describe(
        'Commands run on chosen events (`bstctl events` lists what happened), e.g. a webhook. Default [].',
      ),
    targets: z
      .record(name, targetSchema)
      .describe('Targets by name (letters, digits, ".", "_", "-"), e.g. "core-api-prod".'),
  })
  .describe('bstctl supervisor and release configuration');

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
  return { ...schema, title: 'bst.supervisor.json' };
}
