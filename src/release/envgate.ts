import { existsSync } from 'node:fs';
import { checkRequired, describeMissing } from '../env/check.js';
import { readEnvFile } from '../env/file.js';
import { BstError } from '../errors.js';
import { createAdvice } from './shared.js';
import type { OpInput } from './types.js';

/** Every `env.required` key present and non-empty in the env file, or the deploy is refused (exit 1). */
export function envGate(o: OpInput): void {
  const file = o.target.env.file ?? '';
  const required = o.target.env.required;
  // with no required key the gate still reads the file: a NUL byte in any value stops every spawn
  if (required.length > 0 && !existsSync(file)) {
    // the file itself is missing, not some keys: say which file to create
    throw new BstError('failed', `env gate: ${file} does not exist`, {
      hint: createAdvice([file], { keys: required, tail: ', then deploy again; nothing was switched' }),
    });
  }
  const res = checkRequired(readEnvFile(file), required);
  if (!res.ok) {
    throw new BstError(
      'failed',
      `env gate: ${o.target.env.file} is not ready (${describeMissing(res.keys, res.nul)})`,
      {
        hint: 'fix those keys (see `bstctl env check`), then deploy again; nothing was switched',
      },
    );
  }
}
