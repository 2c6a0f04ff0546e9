// What a Node app does with its stdout when the daemon reading it goes away, and when nobody drains it.
// Run: node output-without-reader.mjs   (Linux, Node 20; makes FIFOs in a temp folder)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, constants, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'surv-out-'));
// the app: one 100-byte line every 2 ms, and a heartbeat on stderr (a file) every 10 ms
const APP = `
const fs = require('fs'); let n = 0, last = Date.now(), worst = 0;
setInterval(() => { const now = Date.now(); worst = Math.max(worst, now - last); last = now;
  fs.writeSync(3, 'beat ' + n + ' worst-gap-ms ' + worst + ' queued-bytes ' + process.stdout.writableLength + '\\n'); }, 10);
setInterval(() => { process.stdout.write('x'.repeat(99) + '\\n'); n++; }, 2);
process.on('exit', (c) => fs.writeSync(3, 'exit ' + c + '\\n'));`;

function pipeEnds(name) {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const write = openSync(path, constants.O_WRONLY);
  return { path, read, write };
}
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(title, ends, after) {
  const beats = join(dir, `${title}.beats`);
  const beatFd = openSync(beats, 'w');
  const cp = spawn(process.execPath, ['-e', APP], { stdio: ['ignore', ends.write, 'pipe', beatFd] });
  let err = '';
  cp.stderr.on('data', (d) => (err += d));
  closeSync(ends.write);
  closeSync(beatFd);
  await wait(300);
  await after(ends);
  const t0 = Date.now();
  const code = await Promise.race([
    new Promise((r) => cp.once('exit', (c, s) => r(c ?? s))),
    wait(1500).then(() => 'alive'),
  ]);
  const tail = execFileSync('tail', ['-n', '1', beats]).toString().trim();
  console.log(
    `${title}: after 1.5 s the app is ${code === 'alive' ? 'alive' : `gone (${code}) after ${Date.now() - t0} ms`}; last heartbeat: ${tail}`,
  );
  if (err) console.log(`  its stderr: ${err.split('\n').find((l) => /Error|EPIPE/.test(l))}`);
  if (code === 'alive') cp.kill('SIGKILL');
}

// 1. the reader closes (a daemon killed outright): no reader left on the pipe
await run('reader-gone', pipeEnds('a'), async (e) => closeSync(e.read));
// 2. a holder keeps the FIFO open read-write but never reads: the pipe fills (64 KiB)
await run('held-not-read', pipeEnds('b'), async (e) => {
  const holder = openSync(e.path, constants.O_RDWR); // as `sleep infinity <>fifo` would
  closeSync(e.read);
  setTimeout(() => closeSync(holder), 2000).unref();
});
rmSync(dir, { recursive: true, force: true });
