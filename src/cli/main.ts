import { toBstError } from '../errors.js';
import { runProgram } from './program.js';
import { report } from '../report.js';

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
