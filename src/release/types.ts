import type { TargetConfig } from '../config/index.js';
import type { JsonError } from '../errors.js';
import type { Asker, StepRecord } from './store.js';

/** What release/ needs from the supervisor, passed in by the daemon (release never imports it). */
export interface ReleaseHooks {
  /**
   * Restarts every process of the target that runs from a release onto `release` (the one just
   * switched to), readiness-gated; starts waiting ones. A `listen` process's new child also passes
   * `beforeServe` on its private port before it serves.
   */
  reloadTarget(
    target: string,
    release: string,
    beforeServe?: (port: number, privatePort: number) => Promise<void>,
  ): Promise<void>;
  /**
   * Watches the target's release processes for `ms`: resolves with why one crashed or went unready
   * (its exit and last stderr lines), or null when all stayed online.
   */
  settleTarget(target: string, ms: number): Promise<string | null>;
  /**
   * Throws with the reason when a process of the target is not online, ready and on `release`;
   * `note` tells the deploy log what it skipped.
   */
  healthTarget(target: string, release: string | null, note: (line: string) => void): Promise<void>;
  /** Stops the target's release processes (when there is no release left to run). */
  stopTarget(target: string): Promise<void>;
  /** Release ids some running process still runs from. */
  runningReleases(target: string): Set<string>;
  /** Masks env values before a line reaches a log or the CLI. */
  mask(text: string): string;
}

export interface OpInput {
  targetName: string;
  target: TargetConfig;
  progress: (line: string) => void;
  /** Config `daemon.passEnv`: the daemon's variables every build step receives. */
  passEnv?: readonly string[];
  /** Who asked (the CLI's uid and login), kept with each activation. */
  by?: Asker;
}

/** SPEC §5 deploy/rollback --json. */
export interface OpResult {
  target: string;
  release: string | null;
  previous: string | null;
  ok: boolean;
  steps: StepRecord[];
  /** Why it failed, and what to do about it when that is known (`create …/shared/.env …, then deploy again`). */
  error?: JsonError;
  rolledBack?: boolean;
  /** The deploy activated a release already built (same sha, or `--release-id`) instead of building. */
  reused?: boolean;
  /** The absolute path of the release's deploy log (`<base>/logs/deploy/<id>.log`). */
  log?: string;
}
