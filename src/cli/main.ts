#!/usr/bin/env node
import { BstError, toBstError } from '../errors.js';
import { runProgram } from './program.js';

/** The one place that turns errors into a message, a hint and an exit code. */
function report(err: BstError, json: boolean): number {
  if (json) printJson(err);
  process.stderr.write(`bstctl: ${err.message}\n`);
  for (const d of err.details.slice(err.details.length > 1 ? 0 : 1)) process.stderr.write(`  ${d}\n`);
  if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
  return err.exitCode;
}

/** `--json` promises one document on stdout, failures included. */
function printJson({ code, message, hint, details }: BstError): void {
  process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message, hint, details } })}\n`);
}

async function main(argv: string[]): Promise<number> {
  try {
    return await runProgram(argv);
  } catch (err) {
    return report(toBstError(err), argv.includes('--json'));
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = process.exitCode || code;
  },
  (err: unknown) => {
    process.stderr.write(`bstctl: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
