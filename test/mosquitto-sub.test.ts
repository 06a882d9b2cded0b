// README "Connect it": `homing credentials` prints a certificate's CONNECT fields as mosquitto flags;
// with them mosquitto_sub subscribes to the device's own topic and receives what is published there,
// and is refused another device's topic. CI installs the mosquitto clients (.ci/run): no skip there.
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { MemoryStore } from '../shared/store/memory.js'
import { brokerConfig, makeDevices } from './helpers/broker.js'
import { within } from './helpers/wait.js'

const installed = await promisify(execFile)('mosquitto_sub', ['--help']).then(() => true, (err: { code?: unknown }) => err.code !== 'ENOENT')

const store = new MemoryStore()
const node = await startBrokerNode({ config: brokerConfig('unused:', { redis: false }), instanceId: 'a', store, nodeId: 'mosquitto-sub' })
t.teardown(() => node.close())
const [lamp] = await makeDevices(store, 'a1SubLamp01', ['lamp-001', 'lamp-002'], 'a')

/** The README's lines: flags from `homing credentials`, then mosquitto_sub with them. */
function readmeSub (topic: string, extra: string[]) {
  const script = [
    'eval "set -- $(node bin/homing.js credentials --product-key "$PK" --device-name "$DN" --device-secret "$SECRET")"',
    'exec mosquitto_sub -h 127.0.0.1 -p "$PORT" "$@" -V mqttv311 -t "$TOPIC" "$@EXTRA"'.replace('"$@EXTRA"', extra.map(a => `'${a}'`).join(' '))
  ].join('\n')
  const child = spawn('sh', ['-c', script], {
    env: { ...process.env, PK: lamp!.productKey, DN: lamp!.deviceName, SECRET: lamp!.deviceSecret, PORT: String(node.ports.mqtt), TOPIC: topic },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { stdout: () => stdout, stderr: () => stderr, exited }
}

t.test('mosquitto_sub with the README flags receives a message on the device\'s own topic', { skip: !installed && 'mosquitto_sub not installed' }, async t => {
  const topic = '/a1SubLamp01/lamp-001/user/get'
  // Retained first: mosquitto_sub buffers its output when it is not a terminal, so the test cannot
  // watch for its SUBACK; the broker hands the retained message over on the SUBSCRIBE instead.
  await new Promise<void>((resolve, reject) => node.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from('{"on":true}'), qos: 1, retain: true, dup: false }, err => err ? reject(err) : resolve()))
  // -C 1: exit after one message; -d: print the CONNACK and SUBACK.
  const sub = readmeSub(topic, ['-q', '1', '-C', '1', '-d'])
  t.equal(await within(15_000, sub.exited, () => `mosquitto_sub to receive the message and exit; it printed:\n${sub.stdout()}${sub.stderr()}`), 0)
  t.match(sub.stdout(), /received CONNACK \(0\)/, 'CONNACK 0 for the signed CONNECT')
  t.match(sub.stdout(), /\n\{"on":true\}\n/, 'the payload printed')
})

t.test('mosquitto_sub with the same flags is refused another device\'s topic', { skip: !installed && 'mosquitto_sub not installed' }, async t => {
  const sub = readmeSub('/a1SubLamp01/lamp-002/user/get', ['-q', '1', '-d'])
  await within(15_000, sub.exited, () => `mosquitto_sub to give up on a refused subscription; it printed:\n${sub.stdout()}${sub.stderr()}`)
  t.match(sub.stdout(), /Subscribed \(mid: 1\): 128\n/, 'SUBACK 0x80 for another device\'s topic')
  t.match(sub.stderr(), /All subscription requests were denied/, 'and mosquitto_sub says so (it exits 0 all the same)')
})
