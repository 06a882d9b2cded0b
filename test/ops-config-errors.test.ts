// Config errors through each command (homing broker, homing bootstrap, homing up): every invalid
// key is named with its path, the TLS files are checked at start and named by their key, the exit
// code is 2 and there is no stack trace.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startHoming, type HomingProcess } from './helpers/homing-process.js'
import { REDIS_URL } from './helpers/redis.js'

const dir = mkdtempSync(join(tmpdir(), 'homing-config-errors-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const good = {
  redis: REDIS_URL,
  bootstrap: { host: '127.0.0.1', port: 0 },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'config-errors-token-0123' }],
  instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'mqtt.example.com', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0 } }]
}

function file (name: string, config: unknown): string {
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(config))
  return path
}

// Mistakes of meaning (checked once the file has the right shape): every one is named, not only the first.
const meaning = file('meaning.json', {
  ...good,
  bootstrap: { host: '127.0.0.1', port: 0, httpsPort: 8443 },
  instances: [{ id: 'a', region: 'mars-north-1', account: 'acme', endpoint: { host: 'mqtt.example.com', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0, mqtts: 8883 } }]
})
const MEANING = [
  /instances\[0\]\.region: unknown region "mars-north-1"/,
  /instances\[0\]\.listen\.mqtts: needs the top-level "tls" block/,
  /bootstrap\.httpsPort: needs the top-level "tls" block/
]
// Mistakes of shape: a wrong type, an unknown key, a port out of range.
const shape = file('shape.json', {
  ...good,
  instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'mqtt.example.com', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0, ws: 70000, trustProxy: 'yes', mqqt: 1 } }]
})
const SHAPE = [
  /instances\[0\]\.listen\.ws: /,
  /instances\[0\]\.listen\.trustProxy: /,
  /instances\[0\]\.listen: Unrecognized key: "mqqt"/
]
// Valid as JSON and as a schema, but its files are not there: found at start, named by key.
const missingCert = file('missing-cert.json', {
  ...good,
  tls: { cert: join(dir, 'no-such-cert.pem'), key: join(dir, 'no-such-key.pem') },
  bootstrap: { host: '127.0.0.1', port: 0, httpsPort: 0 },
  instances: [{ ...good.instances[0], listen: { host: '127.0.0.1', mqtts: 0 } }]
})

// Each start costs seconds: start them all at once, check them in turn.
const runs: Record<string, HomingProcess> = {
  'broker meaning': startHoming(['broker', '--config', meaning, '--instance', 'a']),
  'bootstrap meaning': startHoming(['bootstrap', '--config', meaning]),
  'up meaning': startHoming(['up', '--config', meaning, '--quiet']),
  'broker shape': startHoming(['broker', '--config', shape, '--instance', 'a']),
  'broker tls': startHoming(['broker', '--config', missingCert, '--instance', 'a']),
  'bootstrap tls': startHoming(['bootstrap', '--config', missingCert, '--port', '0']),
  'up tls': startHoming(['up', '--config', missingCert, '--quiet'], { REDIS_URL: '' })
}
t.teardown(() => { for (const run of Object.values(runs)) run.kill() })

async function refused (t: Test, name: string, patterns: RegExp[]): Promise<void> {
  const run = runs[name] as HomingProcess
  t.equal(await run.exit(), 2, `${name}: exit 2`)
  t.match(run.stderr(), /^homing: invalid config:\n/, `${name}: says the config is invalid`)
  for (const pattern of patterns) t.match(run.stderr(), pattern, `${name}: names ${String(pattern)}`)
  t.notMatch(run.output(), /\n\s+at /, `${name}: no stack trace`)
}

for (const command of ['broker', 'bootstrap', 'up']) {
  t.test(`homing ${command}: every key that means something impossible is named with its path`, t => refused(t, `${command} meaning`, MEANING))
}
t.test('homing broker: every key of the wrong shape is named with its path', t => refused(t, 'broker shape', SHAPE))

t.test('homing broker: a TLS file that cannot be read is named by its key (listen.mqtts needs it)', t =>
  refused(t, 'broker tls', [/tls\.cert: cannot read .*no-such-cert\.pem \(ENOENT\)/]))
t.test('homing bootstrap: the same for bootstrap.httpsPort, before waiting for any registry', t =>
  refused(t, 'bootstrap tls', [/tls\.cert: cannot read .*no-such-cert\.pem \(ENOENT\)/]))
t.test('homing up: the same', t =>
  refused(t, 'up tls', [/tls\.cert: cannot read .*no-such-cert\.pem \(ENOENT\)/]))
