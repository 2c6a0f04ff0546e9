import { z } from 'zod';
import { HOOK_EVENTS } from '../events/types.js';
import { ms } from './process-schema.js';

export const hookSchema = z
  .strictObject({
    on: z
      .array(z.enum(HOOK_EVENTS).describe('An event type, e.g. "errored" or "deploy-failed".'))
      .min(1)
      .describe(
        'The events that run the command: "errored" (and "crash-loop", which it includes), "deploy-failed", "drill-failed", "port-conflict", … (README lists every type).',
      ),
    command: z
      .array(z.string().min(1).describe('A program or one of its arguments, e.g. "/usr/local/bin/notify".'))
      .min(1)
      .describe(
        'The command as an argv array, e.g. ["/usr/local/bin/notify", "--to", "ops"]; it reads the event as one JSON line on stdin. Runs in the config file\'s folder.',
      ),
    timeoutMs: ms
      .positive()
      .default(10_000)
      .describe(
        'Milliseconds the command may run; then its process group is stopped and a hook-failed event says so. Default 10000.',
      ),
  })
  .describe('A command run on chosen events, never blocking the daemon.');

export type HookConfig = z.output<typeof hookSchema>;
