import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { parseConfig } from '../../src/config/index.js';
import { validate } from '../../src/config/issues.js';
import { BstError } from '../../src/errors.js';

/** The problem lines of a config, or [] when it is valid. */
function problems(config: unknown): string[] {
  try {
    parseConfig(JSON.stringify(config), '/etc/bst/bst.supervisor.json');
  } catch (err) {
    assert.ok(err instanceof BstError);
    assert.equal(err.exitCode, 2);
    return err.details;
  }
  return [];
}

const app = (proc: object) => ({
  targets: {
    'core-api-prod': { base: '/srv/core', processes: { 'core-api': { command: ['node'], ...proc } } },
  },
});
const at = 'targets.core-api-prod.processes.core-api';

// one bad config per zod issue code (and per union shape), with the exact line the operator reads
const table: [string, unknown, string[]][] = [
  [
    'invalid_type: a wrong type',
    app({ stop: { timeoutMs: '5s' } }),
    [`${at}.stop.timeoutMs: expected a number, got "5s"`],
  ],
  [
    'invalid_type: a missing key',
    { targets: { a: { processes: {} } } },
    ['targets.a.base: expected a string, got nothing (the key is missing)'],
  ],
  [
    'invalid_type: not an integer',
    app({ stop: { timeoutMs: 1.5 } }),
    [`${at}.stop.timeoutMs: expected an integer, got 1.5`],
  ],
  [
    'invalid_type: not a boolean',
    app({ autostart: 'yes' }),
    [`${at}.autostart: expected true or false, got "yes"`],
  ],
  ['invalid_type: a record that is not an object', { targets: 5 }, ['targets: expected an object, got 5']],
  ['invalid_type: the file is not an object', [1, 2], ['expected an object, got [1,2]']],
  [
    'too_small: a negative duration',
    app({ stop: { timeoutMs: -1 } }),
    [`${at}.stop.timeoutMs: expected a number of at least 0, got -1`],
  ],
  [
    'too_small: an exclusive bound',
    app({ logs: { maxFiles: 0 } }),
    [`${at}.logs.maxFiles: expected a number above 0, got 0`],
  ],
  [
    'too_small: an empty string',
    app({ command: '' }),
    [`${at}.command: expected a non-empty string, got ""`],
  ],
  ['too_small: an empty array', app({ command: [] }), [`${at}.command: expected a non-empty array, got []`]],
  [
    'too_big: a port out of range',
    app({ listen: { port: 70000 } }),
    [`${at}.listen.port: expected a number of at most 65535, got 70000`],
  ],
  [
    'invalid_value: an enum with a near miss',
    app({ stop: { signal: 'SIGTREM' } }),
    [
      `${at}.stop.signal: expected "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2" or "SIGKILL", got "SIGTREM" (did you mean "SIGTERM"?)`,
    ],
  ],
  [
    'invalid_value: an enum far from every option',
    app({ restart: { policy: 'sometimes' } }),
    [`${at}.restart.policy: expected "always", "on-failure" or "never", got "sometimes"`],
  ],
  [
    'unrecognized_keys: a misspelt key gets a suggestion',
    app({ restart: { maxRestart: 3 } }),
    [`${at}.restart: unknown key "maxRestart" (did you mean "maxRestarts"?)`],
  ],
  [
    'unrecognized_keys: one line per key, no suggestion when nothing is close or the close key is given',
    app({ restart: { maxRestarts: 3, maxRestart: 4, colour: 'red' } }),
    [`${at}.restart: unknown key "maxRestart"`, `${at}.restart: unknown key "colour"`],
  ],
  [
    'unrecognized_keys: at the top level',
    { deamon: {}, targets: {} },
    ['unknown key "deamon" (did you mean "daemon"?)'],
  ],
  [
    'invalid_union: ready of no known shape lists the shapes',
    app({ ready: { htp: 'http://127.0.0.1/health' } }),
    [
      `${at}.ready: expected {"http": …}, {"tcp": …} or {"message": …}, got {"htp":"http://127.0.0.1/health"}`,
    ],
  ],
  [
    'invalid_union: two shapes mixed lists the shapes',
    app({ ready: { http: 'http://127.0.0.1/health', tcp: 3100 } }),
    [
      `${at}.ready: expected {"http": …}, {"tcp": …} or {"message": …}, got {"http":"http://127.0.0.1/health","tcp"…`,
    ],
  ],
  [
    'invalid_union: a long value is shortened',
    app({ ready: 'x'.repeat(60) }),
    [`${at}.ready: expected {"http": …}, {"tcp": …} or {"message": …}, got "${'x'.repeat(38)}…`],
  ],
  [
    'invalid_union: the one shape a value is close to is named by its key',
    app({ ready: { tcp: '3100' } }),
    [`${at}.ready.tcp: expected a number, got "3100"`],
  ],
  [
    'invalid_union: command is a string or an argv array',
    app({ command: 5 }),
    [`${at}.command: expected a non-empty string or a non-empty array of strings, got 5`],
  ],
  [
    'invalid_union: a missing command beside a misspelt one',
    { targets: { a: { base: '/a', processes: { web: { comand: ['node'] } } } } },
    [
      'targets.a.processes.web.command: expected a non-empty string or a non-empty array of strings, got nothing (the key is missing)',
      'targets.a.processes.web: unknown key "comand" (did you mean "command"?)',
    ],
  ],
  [
    'invalid_union: an argv element',
    app({ command: ['node', 1] }),
    [`${at}.command.1: expected a string, got 1`],
  ],
  [
    'invalid_union: a release source is git or path',
    { targets: { a: { base: '/a', releases: { source: { svn: 'x' } } } } },
    ['targets.a.releases.source: expected {"git": …} or {"path": …}, got {"svn":"x"}'],
  ],
  [
    'invalid_union: a process type names the types',
    app({ type: 'rediss', port: 6380 }),
    [`${at}.type: expected "process" or "redis", got "rediss" (did you mean "redis"?)`],
  ],
  [
    'invalid_format: a URL',
    app({ ready: { http: 'nope' } }),
    [`${at}.ready.http: expected a URL, got "nope"`],
  ],
  [
    'invalid_format: a pattern',
    app({ logs: { maxSize: '10MB' } }),
    [`${at}.logs.maxSize: expected a size like "10M", got "10MB"`],
  ],
  [
    'invalid_format: an environment variable name',
    { daemon: { passEnv: ['1BAD'] }, targets: {} },
    ['daemon.passEnv.0: expected an environment variable name, got "1BAD"'],
  ],
  [
    'invalid_key: a target name',
    { targets: { 'core api': { base: '/a' } } },
    [
      'targets: expected a name of up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit, got "core api"',
    ],
  ],
];

const zodPhrases =
  /Invalid input|Invalid option|Expected|received|Unrecognized|Too (small|big)|Invalid (URL|key|discriminator)/;

describe('config errors read `path.to.key: expected <what>, got <value>`', () => {
  for (const [name, config, lines] of table) {
    test(`${name} reads as the project words it`, () => {
      const found = problems(config);
      assert.deepEqual(found, lines);
      for (const line of found) assert.doesNotMatch(line, zodPhrases, line);
    });
  }

  test('a refinement, a multiple and a longer string, which the config does not use yet, read the same way', () => {
    const cases: [z.ZodType, unknown, string][] = [
      [
        z.strictObject({ n: z.number().refine((v) => v % 2 === 0) }),
        { n: 3 },
        'n: expected a valid value, got 3',
      ],
      [z.strictObject({ n: z.number().multipleOf(5) }), { n: 7 }, 'n: expected a multiple of 5, got 7'],
      [
        z.strictObject({ s: z.string().max(2) }),
        { s: 'abc' },
        's: expected a string of at most 2 characters, got "abc"',
      ],
      [
        z.strictObject({ a: z.array(z.number()).min(2) }),
        { a: [1] },
        'a: expected an array of at least 2 items, got [1]',
      ],
    ];
    for (const [schema, input, line] of cases) {
      const r = validate(schema, input);
      assert.deepEqual(r, { ok: false, problems: [line] });
    }
  });

  test('a valid config validates with no problem', () => {
    assert.deepEqual(problems(app({})), []);
  });
});
