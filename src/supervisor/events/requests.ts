import { toBstError } from '../../errors.js';
import type { ConfigReloadResult, Method } from '../../protocol.js';
import type { NewEvent } from '../../events/write.js';
import type { CallContext, Handlers } from '../socket/server.js';

type Record_ = (ev: NewEvent) => void;

/** Operations journaled with their outcome and who asked, as `<type>` or `<type>-failed`. */
const OPERATIONS: Partial<Record<Method, string>> = {
  deploy: 'deploy',
  rollback: 'rollback',
  drill: 'drill',
  flags: 'flags',
  envSync: 'env-sync',
};

/** Lifecycle requests: their transitions tell what happened; only a failed one is an event of its own. */
const LIFECYCLE: Partial<Record<Method, string>> = {
  start: 'start-failed',
  stop: 'stop-failed',
  restart: 'restart-failed',
  reload: 'reload-failed',
};

type Params = { target?: string; selector?: string; to?: string; by?: unknown; batch?: string };

/** The handler table with every operation's outcome written to the journal (the handlers stay as they are). */
export function journaledHandlers(handlers: Handlers, record: Record_): Handlers {
  const out: Record<string, unknown> = { ...handlers };
  for (const [method, type] of Object.entries({ ...OPERATIONS, ...LIFECYCLE })) {
    const handler = handlers[method as Method] as (p: unknown, c: CallContext) => Promise<unknown>;
    const operation = method in OPERATIONS;
    out[method] = async (p: Params, c: CallContext): Promise<unknown> => {
      const id = p.target ?? p.selector ?? p.to ?? 'all';
      const who = p.by ? { by: p.by } : {};
      try {
        const result = await handler(p, c);
        const ok = (result as { ok?: unknown } | null)?.ok !== false;
        if (operation)
          record({ id, type: ok ? type : `${type}-failed`, message: summary(method, p, result), ...who });
        return result;
      } catch (err) {
        const e = toBstError(err);
        // refused input changed nothing: no event (the operator saw the message)
        if (e.exitCode !== 2) {
          const failed = operation ? `${type}-failed` : type;
          record({ id, type: failed, message: e.message, ...who });
        }
        throw err;
      }
    };
  }
  return out as Handlers;
}

function summary(method: string, p: Params, result: unknown): string {
  const r = (result ?? {}) as { release?: unknown; ok?: unknown; error?: unknown };
  const failed = r.ok === false;
  const release = typeof r.release === 'string' ? ` ${r.release}` : '';
  const batch = p.batch ? ` (batch ${p.batch})` : '';
  const error = r.error as { message?: unknown } | string | null | undefined;
  const text = typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : '';
  const why = failed && text ? `: ${text}` : '';
  if (method === 'flags' || method === 'envSync') return failed ? `${method} failed${why}` : `${method} done`;
  return `${method}${release}${batch} ${failed ? `failed${why}` : 'succeeded'}`;
}

/** `config reload` (request or SIGHUP) with its outcome: what was added, changed and removed. */
export function journaledReload(
  reload: () => Promise<ConfigReloadResult>,
  record: Record_,
): () => Promise<ConfigReloadResult> {
  return async () => {
    try {
      const r = await reload();
      const message = `config applied: ${r.added.length} added, ${r.changed.length} changed, ${r.removed.length} removed`;
      record({ id: 'daemon', type: 'config-reload', message, ...r });
      return r;
    } catch (err) {
      record({ id: 'daemon', type: 'config-reload-failed', message: toBstError(err).message });
      throw err;
    }
  };
}
