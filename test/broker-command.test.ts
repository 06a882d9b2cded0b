// `homing broker`: the runner as an operator starts it, and a node that was stalled (SIGSTOP) while
// holding devices still acts on the moves published meanwhile.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { MqttClient } from 'mqtt'
import t, { type Test } from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { parseConfig } from '../shared/config.js'
import type { JobRecord } from '../shared/types.js'
import { closed, connackCode, connectDevice, credentials, makeDevices, nextMessage } from './helpers/broker.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'
import { within, WAIT_MS } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'cmd')
const dir = mkdtempSync(join(tmpdir(), 'homing-broker-'))
t.teardown(async () => {
  rmSync(dir, { recursive: true, force: true })
})

const base = {
  keyPrefix,
  broker: { notifyTimeoutMs: 300 },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'acme-token-0123456789' }],
  instances: [
    { id: 'a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1884 }, listen: { host: '127.0.0.1', mqtt: 0 } },
    { id: 'b', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1885 }, listen: { host: '127.0.0.1' } }
  ]
}

function configFile (name: string, content: unknown): string {
  const file = join(dir, name)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

const withRedis = configFile('redis.json', { ...base, redis: REDIS_URL })
const bin = join(import.meta.dirname, '..', 'bin', 'homing.js')

function homing (args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  // REDIS_URL and the ports of the environment would override the file: the test decides.
  const { REDIS_URL: _r, MQTT_PORT: _m, NODE_ID: _n, HOMING_CONFIG: _c, ...rest } = process.env
  return spawn(process.execPath, [bin, ...args], { env: { ...rest, LOG_LEVEL: 'info', ...env } })
}

async function run (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = homing(args, env)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => { stdout += chunk })
  child.stderr.on('data', chunk => { stderr += chunk })
  const code = await within(20_000, new Promise<number | null>(resolve => child.on('exit', resolve)), () => `homing ${args.join(' ')} to exit:\n${stdout}${stderr}`)
  return { code, stdout, stderr }
}

/** Starts `homing broker` and resolves with its port once it logged "listening". */
async function startBroker (t: Test, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcessWithoutNullStreams, port: number, lines: Record<string, unknown>[] }> {
  const child = homing(['broker', ...args], env)
  const lines: Record<string, unknown>[] = []
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGCONT'); child.kill('SIGKILL') } })
  let output = ''
  const port = await within(20_000, new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', line => {
      output += line + '\n'
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        lines.push(entry)
        if (entry.msg === 'listening') resolve(entry.port as number)
      } catch {}
    })
    child.on('exit', code => reject(new Error(`homing broker exited with ${code}`)))
  }), () => `homing broker to log "listening":\n${output}`)
  return { child, port, lines }
}

async function recordOf (jobId: string, dn: string): Promise<JobRecord> {
  for (let i = 0; i < 500; i++) {
    const record = (await store.getRecords(jobId)).find(r => r.deviceName === dn)
    if (record) return record
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`no record for ${dn} in ${jobId}`)
}

function answerNotifies (client: MqttClient, dn: string): void {
  client.on('message', (topic, payload) => {
    if (topic === `/sys/pkB/${dn}/thing/bootstrap/notify`) client.publish(`/sys/pkB/${dn}/thing/bootstrap/notify_reply`, notifyReplyPayload(messageId(payload) ?? ''))
  })
}

t.test('a standalone broker on the memory store is refused: a message naming the problem, exit 2, no stack', async t => {
  const memory = await run(['broker', '--config', configFile('memory.json', base), '--instance', 'a'])
  t.equal(memory.code, 2)
  t.match(memory.stderr, /redis: .*needs the shared registry/)
  t.notMatch(memory.stderr, /\n\s+at /, 'no stack trace')
})

t.test('configuration errors name the bad field (ConfigError: bin/homing.ts prints it and exits 2)', async t => {
  const config = parseConfig({ ...base, redis: REDIS_URL })
  await t.rejects(startBrokerNode({ config, instanceId: 'nope', store }), { name: 'ConfigError', message: /--instance: "nope" is not in the config \(instances: a, b\)/ })
  await t.rejects(startBrokerNode({ config, instanceId: 'b', store }), { name: 'ConfigError', message: /instances\[1\]\.listen: no MQTT listener/ })
  const node = await startBrokerNode({ config, instanceId: 'b', store, ports: { mqtt: 0 } })
  t.ok(node.ports.mqtt > 0, 'a port given instead of listen.mqtt')
  await node.close()
})

t.test('a stalled node still acts on the moves published while it was stopped', async t => {
  const [kicked, stays] = await makeDevices(store, 'pkB', ['kicked', 'stays'], 'a')
  // HOMING_CONFIG, MQTT_PORT and NODE_ID stand in for --config, --mqtt-port and --node.
  const { child, port, lines } = await startBroker(t, ['--instance', 'a'], { HOMING_CONFIG: withRedis, MQTT_PORT: '0', NODE_ID: 'catchup-1' })
  t.equal(lines.find(l => l.msg === 'listening')?.nodeId, 'catchup-1', 'node id from NODE_ID')
  const kickedClient = await connectDevice(port, kicked!)
  answerNotifies(kickedClient, 'kicked')
  const staysClient = await connectDevice(port, stays!)
  t.teardown(() => staysClient.endAsync())
  const gone = closed(kickedClient)

  // "Down" while holding its devices: the process is frozen, its sockets stay open.
  child.kill('SIGSTOP')
  // stays: moved away and back before the node could look (A -> B -> A): the event must not kick it.
  await store.moveDevice('pkB', 'stays', { from: 'a', to: 'b', jobId: 'job-away' })
  await store.publishMove({ jobId: 'job-away', productKey: 'pkB', deviceName: 'stays', fromInstanceId: 'a', toInstanceId: 'b' })
  await store.moveDevice('pkB', 'stays', { from: 'b', to: 'a', jobId: 'job-back' })
  await store.publishMove({ jobId: 'job-back', productKey: 'pkB', deviceName: 'stays', fromInstanceId: 'b', toInstanceId: 'a' })
  // kicked: moved away for good.
  await store.moveDevice('pkB', 'kicked', { from: 'a', to: 'b', jobId: 'job-missed' })
  await store.publishMove({ jobId: 'job-missed', productKey: 'pkB', deviceName: 'kicked', fromInstanceId: 'a', toInstanceId: 'b' })
  child.kill('SIGCONT')

  await within(WAIT_MS, gone, 'the broker to close the connection of kickedClient')
  t.equal((await recordOf('job-missed', 'kicked')).message, 'moved to b; online; notified; answered; disconnected')
  t.equal(await connackCode(port, credentials(kicked!)), 5, 'CONNACK 5 afterwards')
  // The events are handled in order, so the one about "stays" was seen before: it is still connected.
  await staysClient.subscribeAsync('/pkB/stays/user/alive')
  const message = nextMessage(staysClient, '/pkB/stays/user/alive')
  await staysClient.publishAsync('/pkB/stays/user/alive', 'ping', { qos: 1 })
  t.equal((await within(WAIT_MS, message, 'staysClient to receive a message on /pkB/stays/user/alive')).toString(), 'ping', 'the device that came back stays connected')
  t.same(await store.getRecords('job-away'), [], 'and gets no record')

  const staysGone = closed(staysClient)
  child.kill('SIGTERM')
  t.equal(await within(10_000, new Promise(resolve => child.on('exit', resolve)), 'homing broker to exit on SIGTERM'), 0, 'SIGTERM: clean exit')
  await within(WAIT_MS, staysGone, 'the broker to close the connection of staysClient')
  t.equal((await store.getDevice('pkB', 'stays'))?.online, null, 'devices marked offline on the way out')
})
