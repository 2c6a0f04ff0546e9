import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import type { Method, Params } from '../protocol.js';
import { call, type CallOptions } from './client.js';

export interface GlobalOpts {
  config?: string;
  json?: boolean;
}

/** What every command needs: its options merged with the program's, the config, the daemon. */
export class Ctx {
  private cached: LoadedConfig | null = null;

  constructor(private readonly cmd: Command) {}

  get opts(): GlobalOpts & Record<string, unknown> {
    return this.cmd.optsWithGlobals();
  }

  get json(): boolean {
    return Boolean(this.opts.json);
  }

  get loaded(): LoadedConfig {
    this.cached ??= loadConfig(this.opts.config);
    return this.cached;
  }

  call<M extends Method>(method: M, params: Params<M>, opts: CallOptions = {}): Promise<unknown> {
    const onProgress = opts.onProgress ?? ((line: string) => !this.json && process.stderr.write(`${line}\n`));
    return call(this.loaded.socketPath, method, params, { ...opts, onProgress });
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
