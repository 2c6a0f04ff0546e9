// the daemon as `bstctl daemon` detaches it (supervisor/main.ts), from its bundle's code cache (src/boot.cts)
import { runBundle } from '../boot.cjs';

runBundle('bstctld');
