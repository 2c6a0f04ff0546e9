/** The one error type of bstctl: a closed code, a one-line message and a hint that says what to do next. */
export type ErrorCode =
  | 'usage' // bad arguments on the command line
  | 'invalid_input' // a value the operator gave is not acceptable
  | 'invalid_config' // the config file does not validate
  | 'not_found' // a target, process or release that does not exist
  | 'reserved' // the target is reserved
  | 'conflict' // another mutating operation runs on the target
  | 'failed' // the operation or check failed
  | 'no_daemon' // nothing answers on the socket
  | 'protocol' // the daemon and the CLI do not understand each other
  | 'internal';

const exitCodes: Record<ErrorCode, 0 | 1 | 2 | 3> = {
  usage: 2,
  invalid_input: 2,
  invalid_config: 2,
  not_found: 2,
  reserved: 2,
  conflict: 1,
  failed: 1,
  no_daemon: 3,
  protocol: 1,
  internal: 1,
};

export class BstError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: string[];

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; details?: string[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BstError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details ?? [];
  }

  get exitCode(): 0 | 1 | 2 | 3 {
    return exitCodes[this.code];
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in exitCodes;
}

/** How a failure appears in every `--json` document: a usage error's shape, a failed deploy's too. */
export interface JsonError {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** A failure of an operation as its `--json` result says it (`failed` unless the error has a code). */
export function jsonError(err: unknown): JsonError {
  if (err instanceof BstError) return { code: err.code, message: err.message, hint: err.hint };
  return { code: 'failed', message: err instanceof Error ? err.message : String(err) };
}

/** Any thrown value as a BstError, so callers handle exactly one type. */
export function toBstError(err: unknown): BstError {
  if (err instanceof BstError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BstError('internal', message, { cause: err });
}
