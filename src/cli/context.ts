import type { Command } from 'commander';
import { locateDaemon, type DaemonPaths } from '../config/locate.js';
import type { LoadedConfig, LoadOptions } from '../config/load.js';
import type { Method, Params } from '../protocol.js';
import { BstError } from '../errors.js';
import { call, type CallOptions } from '../client.js';
import { refusedBy } from './asker.js';
import { VERSION } from '../version.js';

let versionSaid = false;

/**
 * A CLI of another version than the daemon's (an upgrade installed, the daemon not handed over): one
 * line on stderr, once, never on stdout (`--json` keeps its one document). The reply names the
 * daemon's version: no extra round-trip.
 */
function sayOtherVersion(daemon: string): void {
  if (versionSaid || daemon === VERSION) return;
  versionSaid = true;
  process.stderr.write(
    `bstctl: warning: the daemon runs bstctl ${daemon}, this CLI is ${VERSION}; hand the daemon over to ${VERSION} without stopping a process: \`bstctl daemon upgrade\` (under systemd: \`systemctl reload bst-supervisor\`)\n`,
  );
}

export interface GlobalOpts {
  config?: string;
  json?: boolean;
}

/**
 * What every command needs: its options merged with the program's, the config, the daemon. Every
 * command's declaration loads this file; the config loader (zod) is loaded by the commands that use it.
 */
export class Ctx {
  private cached: LoadedConfig | null = null;

  constructor(private readonly cmd: Pick<Command, 'optsWithGlobals'>) {}

  get opts(): GlobalOpts & Record<string, unknown> {
    return this.cmd.optsWithGlobals();
  }

  get json(): boolean {
    return Boolean(this.opts.json);
  }

  /** The validated config (zod is loaded only by the commands that need it, and only when the file changed). */
  async config(opts: LoadOptions = {}): Promise<LoadedConfig> {
    if (!this.cached) {
      const { validConfig } = await import('../config/cache.js');
      this.cached = await validConfig(this.opts.config, opts);
    }
    return this.cached;
  }

  /** Socket and state folder; an unreadable file gets the full loader's message (exit 2). */
  async daemon(): Promise<DaemonPaths> {
    return locateDaemon(this.opts.config) ?? (await this.config());
  }

  async call<M extends Method>(method: M, params: Params<M>, opts: CallOptions = {}): Promise<unknown> {
    const onProgress = opts.onProgress ?? ((line: string) => !this.json && process.stderr.write(`${line}\n`));
    try {
      const o = { ...opts, onProgress, onVersion: opts.onVersion ?? sayOtherVersion };
      const socket = (await this.daemon()).socketPath;
      return await call(socket, method, params, o).catch(async (err: unknown) => {
        // a daemon older than this CLI refuses the asker before doing anything: ask again without it
        if (!(err instanceof BstError) || !('by' in params) || !refusedBy(method, err.message)) throw err;
        const { by: _unknownThere, ...older } = params as Params<M> & { by?: unknown };
        return call(socket, method, older as Params<M>, o);
      });
    } catch (err) {
      // no daemon: a broken config file is the likelier cause, so it is reported first (exit 2)
      if (err instanceof BstError && err.code === 'no_daemon') await this.config();
      throw err;
    }
  }

  /**
   * A failure after the result was printed: with --json that result stays the one document on
   * stdout and the error goes to stderr only; otherwise the error is thrown as usual.
   */
  failAfterPrint(err: BstError): void {
    if (!this.json) throw err;
    process.stderr.write(`bstctl: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    process.exitCode = err.exitCode;
  }

  /** `--json`: one document on stdout; otherwise the human text. */
  print(value: unknown, human: () => string): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const text = human();
      if (text) process.stdout.write(`${text}\n`);
    }
  }
}

/** `-c` and `--json` are accepted after the command name too (`bstctl status -c x.json`). */
export function withGlobals(cmd: Command, json = true): Command {
  cmd.option('-c, --config <path>', 'config file (default: $BST_CONFIG or ./bst.supervisor.json)');
  if (json) cmd.option('--json', 'print one JSON document on stdout');
  return cmd;
}
