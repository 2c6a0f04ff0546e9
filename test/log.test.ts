import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, SecretSet } from '../src/log.js';

test('a secret is masked in plain text and in JSON text alike, whatever characters it holds', () => {
  const secrets = new SecretSet();
  const values = ['pa"ss\\word1', 'tab\there-and-more', 'plain-token-value'];
  secrets.addAll({ A: values[0] as string, B: values[1] as string, C: values[2] as string });
  for (const v of values) {
    const plain = secrets.mask(`before ${v} after`);
    assert.equal(plain, 'before [redacted] after', `plain: ${JSON.stringify(v)}`);
    const json = secrets.mask(JSON.stringify({ msg: `x ${v} y` }));
    assert.equal(json, JSON.stringify({ msg: 'x [redacted] y' }), `json: ${JSON.stringify(v)}`);
  }
});

test('short values are not treated as secrets, and text without secrets passes as it is', () => {
  const secrets = new SecretSet();
  assert.equal(secrets.mask('nothing known yet'), 'nothing known yet');
  secrets.addAll({ PORT: '3100', FLAG: 'true', TOKEN: 'abc-123-secret' });
  assert.equal(secrets.mask('port 3100 is true; abc-123-secret'), 'port 3100 is true; [redacted]');
});

test('a value learnt later is masked from then on', () => {
  const secrets = new SecretSet();
  secrets.addAll({ A: 'first-secret' });
  assert.equal(secrets.mask('second-secret'), 'second-secret');
  secrets.addAll({ B: 'second-secret' });
  assert.equal(secrets.mask('first-secret second-secret'), '[redacted] [redacted]');
});

test('a log whose writes fail (ENOSPC on /dev/full) drops the lines, names the problem and never throws', (t) => {
  const secrets = new SecretSet();
  const log = createLogger({ file: '/dev/full', secrets });
  t.after(() => log.reopen());
  assert.equal(log.problem(), null);
  for (let i = 0; i < 3; i++) log.logger.info({ evt: 'transition', i });
  assert.match(log.problem() ?? '', /^cannot write \/dev\/full: no space left on device \(ENOSPC\)$/);
  log.logger.error({ evt: 'still-fine' });
});
