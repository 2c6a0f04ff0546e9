import { existsSync } from 'node:fs';
import { groupAndTree } from '../../terminate.js';
import { collectHeld } from '../process/holder.js';
import { fifoPaths } from '../process/pipes.js';
import { adoptEntry, notOurs, type AdoptDeps, type Candidate } from '../entries/adopt.js';
import type { Supervisor } from '../entries/supervisor.js';
import { markedStrays, redisStrays } from '../orphans/scan.js';
import { savedLeftovers, strayLeftovers, type Found } from '../orphans/reap.js';
import { ofThisBoot, type SavedState } from '../state/state-file.js';

/** What an earlier daemon left running: the children taken over, and the leftovers to stop. */
export interface Takeover {
  adopted: Set<string>;
  leftovers: Found[];
}

/**
 * Adopts every child state.json names as online that still runs and is verifiably ours (pid, kernel
 * start time, the marker, same settings) and whose process the config still has; everything else an
 * earlier daemon left (other ids, descendants of nothing adopted, a redis found by port alone) is
 * returned as leftovers to stop, as before.
 */
export async function takeOver(
  sup: Supervisor,
  saved: SavedState | null,
  deps: Omit<AdoptDeps, 'redisPids'>,
): Promise<Takeover> {
  const t0 = Date.now();
  const redis = await redisStrays(sup.loaded.config);
  const redisPids = new Map(redis.map((s) => [s.id, s.pid]));
  const adopted = new Set<string>();
  for (const c of candidatesOf(saved)) {
    const e = sup.entries.get(c.id);
    const why = e ? notOurs(e, c, { ...deps, redisPids }) : 'its process is no longer in the config';
    const failed = e && why === null ? await adoptEntry(e, c, { ...deps, redisPids }) : why;
    if (failed === null) adopted.add(c.id);
    else deps.logger.info({ evt: 'not-adopted', id: c.id, pid: c.pid, why: failed });
  }
  // what an adopted child forked (workers, its own children) carries the marker too: it is not a leftover
  const kept = new Set<number>();
  for (const id of adopted) {
    const e = sup.entries.get(id);
    if (e?.unit.pid != null && e.unit.startTime != null) {
      for (const pid of groupAndTree(e.unit.pid, e.unit.startTime)) kept.add(pid);
    }
  }
  const notAdopted = (f: Found): Found => ({ ...f, list: f.list.filter((l) => !adopted.has(l.id)) });
  const leftovers = [
    notAdopted(savedLeftovers(saved)),
    // state.json may be missing or torn (kill -9 mid-write, a full disk): the markers still say what is
    // ours; a marked process outside the adopted trees (a successor the dead daemon was starting) is not
    strayLeftovers(
      markedStrays(deps.stateDir).filter((s) => !kept.has(s.pid)),
      'marker',
    ),
    notAdopted(strayLeftovers(redis, 'redis-port')),
  ];
  if (adopted.size > 0) {
    deps.logger.info({ evt: 'adopted-all', ids: [...adopted], ms: Date.now() - t0 });
  }
  return { adopted, leftovers };
}

/** The children state.json names as online in this boot, with what adoption needs. */
function candidatesOf(saved: SavedState | null): Candidate[] {
  if (!ofThisBoot(saved)) return [];
  return Object.entries(saved.processes).flatMap(([id, p]) =>
    p.want === 'up' && p.pid !== null && p.startTime !== null && p.child
      ? [{ id, pid: p.pid, startTime: p.startTime, child: p.child }]
      : [],
  );
}

/**
 * What the holders kept of the children this daemon did not adopt (one that died while no daemon ran:
 * its last words; one stopped for its changed settings), written to its log once they are stopped.
 * A process the config no longer has loses it with its spool.
 */
export async function keepHeld(
  sup: Supervisor,
  saved: SavedState | null,
  adopted: ReadonlySet<string>,
  deps: Pick<AdoptDeps, 'stateDir' | 'pipesDir' | 'logger'>,
): Promise<void> {
  for (const [id, p] of Object.entries(saved?.processes ?? {})) {
    if (adopted.has(id) || p.pid === null) continue;
    const paths = fifoPaths(deps.pipesDir, id, p.pid);
    if (!existsSync(`${paths.out}.spool`) && !existsSync(`${paths.err}.spool`)) continue;
    const held = await collectHeld(deps.stateDir, paths);
    const e = sup.entries.get(id);
    if (!e) continue;
    if (held.stdout.length > 0) e.sinks.out.write(held.stdout);
    if (held.stderr.length > 0) e.sinks.err.write(held.stderr);
    const bytes = held.stdout.length + held.stderr.length;
    if (bytes > 0) deps.logger.info({ evt: 'output-held', id, pid: p.pid, bytes });
  }
}
