// Load on PORT until SIGINT/SIGTERM or DURATION ms: 5 keep-alive clients and 1 fresh-connection loop.
// Prints failed requests, total and the longest gap between two successes.
import http from 'node:http';
const PORT = Number(process.env.PORT);
const end = Date.now() + Number(process.env.DURATION ?? 1e9);
let ok = 0,
  failed = 0,
  last = Date.now(),
  gap = 0,
  stop = false;
const pids = new Set();
const one = (agent) =>
  new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, agent }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => {
        ok++;
        pids.add(b);
        const t = Date.now();
        gap = Math.max(gap, t - last);
        last = t;
        resolve();
      });
    });
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.setTimeout(5000, () => req.destroy());
  });
const loop = async (agent) => {
  while (!stop && Date.now() < end) await one(agent);
};
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => (stop = true));
await Promise.all([
  ...Array.from({ length: 5 }, () => loop(new http.Agent({ keepAlive: true, maxSockets: 1 }))),
  loop(false),
]);
console.log(JSON.stringify({ ok, failed, longestGapMs: gap, servedBy: [...pids] }));
