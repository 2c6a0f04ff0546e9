import { basename } from 'node:path';

// they run a package.json script (or a package's bin) through a shell of their own: the server they
// start is a grandchild, which gets neither bstctl's preload nor the socket on fd 3
const RUNNERS = new Set(['npm', 'npx', 'pnpm', 'pnpx', 'yarn', 'yarnpkg', 'corepack', 'bun', 'bunx']);

/** The program a command runs first: argv[0], or a shell line's first word past `exec` and VAR=value. */
function firstProgram(command: string[] | string): string {
  if (typeof command !== 'string') return command[0] ?? '';
  const words = command.trim().split(/\s+/);
  const first = words.find((w) => w !== 'exec' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  return first ?? '';
}

/** The package runner a command starts with (`pnpm start`, `npx next start`), or null. */
export function packageRunner(command: string[] | string): string | null {
  const name = basename(firstProgram(command));
  return RUNNERS.has(name) ? name : null;
}

/** Why a `listen` process cannot run through a package runner, and what to run instead; null if it does not. */
export function runnerProblem(command: string[] | string): string | null {
  const runner = packageRunner(command);
  if (!runner) return null;
  const shown = typeof command === 'string' ? command : command.join(' ');
  return (
    `"${shown}" runs the server through ${runner}: with "listen" the server is ${runner}'s grandchild, ` +
    `which gets neither the supervisor's socket nor bstctl's preload, so it never gets ready. ` +
    `Run the server itself: the script's own command from package.json, e.g. ` +
    `["node", "node_modules/next/dist/bin/next", "start"] for "next start", or ["node", "server.js"]`
  );
}
