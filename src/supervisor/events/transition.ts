import type { NewEvent } from '../../events/write.js';
import type { Transition } from '../unit/types.js';

/** A port held by another program (the portBusy path): `port 3100 is … ; trying again in 200 ms`. */
const PORT_WAIT = /^port \d+ is .*; trying again in \d+ ms$/;

/** What a transition tells an operator: none, one or two events (a crash that ends in errored). */
export function eventsOfTransition(t: Transition): NewEvent[] {
  const reason = t.reason ?? '';
  const facts = { pid: t.pid, from: t.from, to: t.to };
  const ev = (type: string, message: string, more: object = {}): NewEvent => ({
    id: t.id,
    type,
    message,
    ...facts,
    ...more,
  });
  const ended = t.code !== null || t.signal !== null || t.adopted === true;
  const died = ended && (t.from === 'online' || t.from === 'starting');
  const out: NewEvent[] = [];
  if (died) out.push(ev('crashed', reason, { code: t.code, signal: t.signal }));
  const state = stateEvent(t, reason, died);
  if (state) out.push(ev(state.type, state.message));
  return out;
}

function stateEvent(t: Transition, reason: string, died: boolean): { type: string; message: string } | null {
  switch (t.to) {
    case 'starting':
      if (died) return null; // the crash event already says "restarted"
      return { type: t.from === 'stopped' ? 'start' : 'restart', message: reason || 'starting' };
    case 'online':
      // only a child an earlier daemon started goes online straight from stopped
      if (t.from === 'stopped') return { type: 'adopted', message: reason || `adopted, pid ${t.pid ?? '?'}` };
      return t.from === 'online'
        ? { type: 'handover', message: `a new child (pid ${t.pid ?? '?'}) took over without downtime` }
        : { type: 'ready', message: `online, pid ${t.pid ?? '?'}` };
    case 'stopped':
      return died ? null : { type: 'stop', message: reason || 'stopped' };
    case 'backoff':
      if (died) return null;
      return { type: PORT_WAIT.test(reason) ? 'port-conflict' : 'backoff', message: reason };
    case 'errored':
      return { type: reason.startsWith('crash loop') ? 'crash-loop' : 'errored', message: reason };
    default:
      return null; // stopping: the stop (or the crash) is told when it is over
  }
}
