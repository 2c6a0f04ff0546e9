import pidusage from 'pidusage';
import { procTable } from '../proc.js';
import { descendantsIn } from './child.js';

export interface Usage {
  cpu: number;
  memory: number;
}

/** `table` is one walk of /proc shared by a whole status request. CPU (percent, may exceed 100 on several cores) and RSS bytes of a pid and all its descendants. */
export async function treeUsage(pid: number, table = procTable()): Promise<Usage> {
  const pids = [pid, ...descendantsIn(table, pid)];
  try {
    const stats = await pidusage(pids);
    let cpu = 0;
    let memory = 0;
    // a process that exited between the /proc walk and the read comes back as null
    for (const s of Object.values(stats)) {
      if (!s) continue;
      cpu += s.cpu;
      memory += s.memory;
    }
    return { cpu, memory };
  } catch {
    return { cpu: 0, memory: 0 };
  }
}
