import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitReason } from '../../src/cli/actions/daemon.js';
import { sandbox } from '../helpers/sandbox.js';

test('a daemon that crashed is described by its error line, not by the end of the stack trace', (t) => {
  const box = sandbox();
  t.after(box.cleanup);
  const file = join(box.dir, 'daemon.stderr');
  const trace = [
    'node:events:497',
    '      throw er; // Unhandled error event',
    '      ^',
    '',
    'Error: ENOSPC: no space left on device, write',
    '    at writeSync (node:fs:936:3)',
    '    at SonicBoom.write (/x/sonic-boom/index.js:1:1)',
    '}',
    '',
    'Node.js v20.20.2',
  ];
  writeFileSync(file, trace.join('\n'));
  assert.equal(exitReason(file, box.dir), 'Error: ENOSPC: no space left on device, write');
  writeFileSync(
    file,
    'bstctl: cannot write the daemon lock in /st: no space left on device (ENOSPC)\nhint: free space\n',
  );
  assert.equal(
    exitReason(file, box.dir),
    'cannot write the daemon lock in /st: no space left on device (ENOSPC)',
  );
  writeFileSync(file, '');
  assert.equal(exitReason(file, box.dir), 'no output');
});
