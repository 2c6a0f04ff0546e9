import type { TargetPaths } from './layout.js';
import { readRecord, writeRecord, type ActivationKind, type Asker } from './store.js';

interface Asked {
  batch?: string;
  by?: Asker;
  ok?: boolean;
}

/** Appends an activation of `id`; returns its time, which names it for `settleActivation`. */
export function recordActivation(
  paths: TargetPaths,
  id: string,
  kind: ActivationKind,
  asked: Asked = {},
): string {
  const at = new Date().toISOString();
  const rec = readRecord(paths, id);
  if (!rec) return at;
  const { batch, by, ok } = asked;
  rec.activations.push({
    at,
    kind,
    ...(batch ? { batch } : {}),
    ...(ok === undefined ? {} : { ok }),
    ...(by ? { by } : {}),
  });
  writeRecord(paths, rec);
  return at;
}

/** The outcome of the activation recorded at `at`; bookkeeping only, never the operation's failure. */
export function settleActivation(paths: TargetPaths, id: string, at: string, ok: boolean): void {
  try {
    const rec = readRecord(paths, id);
    const a = rec ? [...rec.activations].reverse().find((x) => x.at === at) : undefined;
    if (!rec || !a) return;
    a.ok = ok;
    writeRecord(paths, rec);
  } catch {
    // the timeline then shows the outcome as unknown; the deploy log has it
  }
}
