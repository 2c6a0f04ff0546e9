import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { checkListen } from '../../src/doctor/listen.js';
import { sandbox } from '../helpers/sandbox.js';

test('doctor says which listen processes bstctl can hand over, and what the others need', (t) => {
  const box = sandbox('bst-doctor-listen-');
  t.after(box.cleanup);
  const base = join(box.dir, 'web');
  mkdirSync(base);
  // a script whose #! names node counts as node (next, nest and friends install such bins)
  const bin = join(base, 'serve');
  writeFileSync(bin, '#!/usr/bin/env node\nrequire("http");\n');
  chmodSync(bin, 0o755);
  const listen = (port: number, extra: object = {}) => ({ listen: { port, ...extra } });
  const text = JSON.stringify({
    targets: {
      web: {
        base,
        processes: {
          api: { command: ['node', 'dist/main.js'], env: { PORT: '3100' }, ...listen(3100) },
          bin: { command: ['./serve'], env: { PORT: '3101' }, ...listen(3101) },
          next: {
            command: ['node', 'node_modules/next/dist/bin/next', 'start'],
            ...listen(3102, { preload: false }),
          },
          shell: { command: 'node main.js', ...listen(3103) },
          go: { command: ['./server'], ...listen(3104, { preload: false }), ready: { message: 'ready' } },
          skew: { command: ['node', 'main.js'], env: { PORT: '3000' }, ...listen(3105) },
          plain: { command: ['node', 'main.js'] },
        },
      },
    },
  });
  const t0 = parseConfig(text, join(box.dir, 'bst.supervisor.json')).config.targets.web;
  assert.ok(t0);
  const found = Object.fromEntries(checkListen(t0).map((f) => [f.message.split(':')[0], f]));
  assert.deepEqual(Object.keys(found).sort(), ['api', 'bin', 'go', 'next', 'shell', 'skew']);
  assert.equal(found.api?.level, 'pass');
  assert.equal(found.bin?.level, 'pass');
  assert.equal(found.go?.level, 'pass');
  assert.match(found.go?.message ?? '', /must read the socket from fd 3 .*bstctl cannot check that/);
  assert.equal(found.shell?.level, 'warn');
  assert.match(found.shell?.message ?? '', /"node main\.js" runs through \/bin\/sh -c/);
  assert.equal(found.skew?.level, 'warn');
  assert.match(found.skew?.message ?? '', /env PORT is 3000 but listen.port is 3105/);
});

test('doctor never passes a Node app without the preload as reading the socket from fd 3', (t) => {
  const box = sandbox('bst-doctor-listen-');
  t.after(box.cleanup);
  const text = JSON.stringify({
    targets: {
      web: {
        base: box.dir,
        processes: {
          next: {
            command: ['node', 'node_modules/next/dist/bin/next', 'start'],
            listen: { port: 3102, preload: false },
            ready: { message: 'Ready' },
          },
        },
      },
    },
  });
  const web = parseConfig(text, join(box.dir, 'bst.supervisor.json')).config.targets.web;
  const [finding] = checkListen(web as NonNullable<typeof web>);
  assert.equal(finding?.level, 'warn', finding?.message);
  assert.doesNotMatch(finding?.message ?? '', /reads the socket from fd 3/);
  assert.match(finding?.message ?? '', /without bstctl's preload .*EADDRINUSE.*remove "preload": false/);
});
