import * as commander from 'commander';

export type Commander = typeof commander;

/**
 * commander, bundled into the CLI's script (scripts/bundle.mjs) and so compiled from its code cache
 * with the rest of the CLI, instead of five CommonJS files read and compiled at every start.
 */
export function loadCommander(): { commander: Commander } {
  return { commander };
}
