import type { BstError } from './errors.js';

/** The one place that turns errors into a message, a hint and an exit code. */
export function report(err: BstError, json: boolean): number {
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
