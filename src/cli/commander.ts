import { createRequire } from 'node:module';

// commander's ESM wrapper costs ~10 ms of module analysis on every CLI start; its CJS entry does not
type Commander = typeof import('commander');
const commander = createRequire(import.meta.url)('commander') as Commander;

export const { Command, CommanderError } = commander;
