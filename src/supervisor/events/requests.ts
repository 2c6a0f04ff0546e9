import { toBstError } from '../../errors.js';
import type { ConfigReloadResult, Method } from '../../protocol.js';
import type { NewEvent } from '../../events/write.js';
import type { Asker } from '../../release/store.js';
import { peerAsker } from '../socket/peer.js';
import type { CallContext, Handlers } from '../socket/server.js';
import type { Events } from './wire.js';

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

type Params = { target?: string; selector?: string; to?: string; by?: Asker; batch?: string };
type Handler = (p: Params, c: CallContext) => Promise<unknown>;

/**
 * The handler table with every operation's outcome written to the journal, and every event a
 * request causes naming who asked (the handlers stay as they are).
 */
export function journaledHandlers(handlers: Handlers, events: Pick<Events, 'record' | 'asking'>): Handlers {
  const out: Record<string, unknown> = { ...handlers };
  for (const [method, type] of Object.entries({ ...OPERATIONS, ...LIFECYCLE })) {
    const handler = handlers[method as Method] as Handler;
    out[method] = asked(journaled(method, type, handler, events.record), events);
  }
  out.configReload = asked(handlers.configReload as Handler, events);
  return out as Handlers;
}

/**
 * The asker checked against the socket's peer, given to the handler (a release record keeps it) and
 * to every event of the request's scope: its target or selector, all for env sync and config reload.
 */
function asked(handler: Handler, events: Pick<Events, 'asking'>): Handler {
  return (p, c) => {
    const by = peerAsker(p.by);
    return events.asking(p.target ?? p.selector, by, () => handler({ ...p, by }, c));
  };
}

function journaled(method: string, type: string, handler: Handler, record: Record_): Handler {
  const operation = method in OPERATIONS;
  return async (p, c) => {
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
