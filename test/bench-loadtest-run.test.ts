// `homing loadtest` end to end against a real sidecar and two broker nodes: devices created through
// the API, held, publishing, and followed to their new home after a move.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t from 'tap'
import type { AedesPublishPacket, Client } from 'aedes'
import { Topology, parseConfig, type Config } from '../shared/config.js'
import { silentLogger } from '../shared/log.js'
import { MemoryStore } from '../shared/store/memory.js'
import { startBrokerNode } from '../broker/node.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { runLoadtestCommand } from '../bin/commands/loadtest.js'
import { readCertificates } from '../bench/loadtest/certificates.js'
import { startLoadtest } from '../bench/loadtest/run.js'
import type { LoadtestOptions } from '../bench/loadtest/options.js'
import { eventually, within } from './helpers/wait.js'

const TOKEN = 'acme-token-0123456789'

function config (ports: { a: number, b: number }): Config {
  const instance = (id: string, port: number) => ({ id, region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port }, listen: { host: '127.0.0.1', mqtt: 0 } })
  return parseConfig({
    bootstrap: { host: '127.0.0.1', port: 0 },
    regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
    accounts: [{ id: 'acme', name: 'Acme', token: TOKEN }],
    instances: [instance('iot-a', ports.a), instance('iot-b', ports.b)]
  })
}

const store = new MemoryStore()
const a = await startBrokerNode({ config: config({ a: 1, b: 1 }), instanceId: 'iot-a', store, log: silentLogger, ports: { mqtt: 0 } })
const b = await startBrokerNode({ config: config({ a: 1, b: 1 }), instanceId: 'iot-b', store, log: silentLogger, ports: { mqtt: 0 } })
const c = config({ a: a.ports.mqtt, b: b.ports.mqtt })
const sidecar = await startSidecar({ config: c, topology: new Topology(c), store, log: silentLogger }, { host: '127.0.0.1', port: 0 })
const url = `http://127.0.0.1:${sidecar.port}`
const dir = mkdtempSync(join(tmpdir(), 'homing-loadtest-test-'))
t.teardown(async () => {
  await sidecar.close()
  await a.close()
  await b.close()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const options = (over: Partial<LoadtestOptions>): LoadtestOptions => ({
  url,
  devices: 12,
  workers: 2,
  sources: ['127.0.0.2', '127.0.0.3'],
  ramp: 0,
  inFlight: 6,
  duration: 0.5,
  publishRate: 0,
  keepalive: 1200,
  form: 'link-sdk-c',
  connectTimeout: 5000,
  backoffBase: 50,
  backoffCap: 500,
  mqttTls: false,
  progress: false,
  ...over
})

t.test('devices created through the API bootstrap, connect signed, publish, and the summary adds up', async t => {
  const posts: string[] = []
  a.aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    if (client !== null && packet.topic.endsWith('/thing/event/property/post')) posts.push(packet.topic)
  })
  const out = new PassThrough()
  let printed = ''
  out.on('data', (chunk: Buffer) => { printed += chunk.toString() })
  const json = join(dir, 'summary.json')
  const certs = join(dir, 'certs.csv')
  const summary = await runLoadtestCommand(options({ token: TOKEN, instance: 'iot-a', json, saveCertificates: certs, publishRate: 40, duration: 1 }), out)
  t.equal(summary.devices, 12)
  t.equal(summary.workers, 2)
  t.equal(summary.connected, 12)
  t.equal(summary.online, 12, 'all held until the end')
  t.equal(summary.dropped, 0)
  t.same(summary.failures, {})
  t.equal(summary.latencyMs.bootstrap.count, 12)
  t.equal(summary.latencyMs.connect.count, 12)
  t.ok(summary.published > 0, 'property posts went out')
  t.ok(posts.length > 0 && posts.length <= summary.published, 'and reached the broker')
  t.same(JSON.parse(readFileSync(json, 'utf8')), summary, 'the JSON summary is the summary')
  t.match(printed, /connected\s+12 \(/)
  const saved = await readCertificates(certs)
  t.equal(saved.length, 12, 'certificates saved')
  t.equal(new Set(saved.map(s => s.productKey)).size, 1, 'one new product')

  // Disconnected cleanly at the end: nobody is online any more.
  const devices = await store.getDevices(saved[0]!.productKey, saved.map(s => s.deviceName))
  t.equal(devices.filter(d => d?.online !== null).length, 0)
})

t.test('devices from a CSV follow a move: notify, reply, bootstrap, connect at the new home', async t => {
  const certs = await readCertificates(join(dir, 'certs.csv'))
  const lt = await startLoadtest(certs, { ...options({}), workers: 1, reportEveryMs: 50 })
  t.teardown(() => lt.finish())
  t.ok(await lt.until(x => x.connected === certs.length, 20_000), 'all connected at iot-a')
  for (const cert of certs) {
    await store.moveDevice(cert.productKey, cert.deviceName, { from: 'iot-a', to: 'iot-b', jobId: 'job-lt' })
    await store.publishMove({ jobId: 'job-lt', productKey: cert.productKey, deviceName: cert.deviceName, fromInstanceId: 'iot-a', toInstanceId: 'iot-b' })
  }
  t.ok(await lt.until(x => x.rehomed === certs.length, 20_000), 'all re-homed')
  t.ok(await lt.until(x => x.online === certs.length, 5000), 'each old connection counted offline once, each new one online')
  const s = await lt.finish()
  t.equal(s.notified, certs.length)
  t.equal(s.rehomed, certs.length)
  t.equal(s.latencyMs.rehome.count, certs.length)
  t.equal(s.dropped, 0, 'a kick after notify is not a drop')
  const devices = await store.getDevices(certs[0]!.productKey, certs.map(c => c.deviceName))
  t.ok(devices.every(d => d?.instanceId === 'iot-b'))
})

t.test('light devices (raw sockets) connect signed as the C SDK does and follow a move to the new home', async t => {
  const certs = (await readCertificates(join(dir, 'certs.csv'))).slice(0, 6)
  const seen = { a: [] as string[], b: [] as string[] }
  const onA = (client: Client): void => { seen.a.push(client.id) }
  const onB = (client: Client): void => { seen.b.push(client.id) }
  a.aedes.on('client', onA)
  b.aedes.on('client', onB)
  t.teardown(() => {
    a.aedes.off('client', onA)
    b.aedes.off('client', onB)
  })
  // Devices of the previous test live at iot-b now: these six go back to iot-a first, while offline.
  for (const cert of certs) await store.moveDevice(cert.productKey, cert.deviceName, { from: 'iot-b', to: 'iot-a', jobId: 'job-light-back' })
  const lt = await startLoadtest(certs, { ...options({}), workers: 1, deviceMode: 'light', reportEveryMs: 50 })
  t.teardown(() => lt.finish())
  t.ok(await lt.until(x => x.connected === certs.length, 20_000), 'all connected at iot-a')
  const sdkClientId = /^a1\w+\.\S+\|timestamp=2524608000000,_ss=1,_v=sdk-c-4\.1\.0,securemode=3,signmethod=hmacsha256,ext=3,_conn=tcp_[0-9a-f]{2}\|$/
  t.equal(seen.a.length, certs.length)
  t.ok(seen.a.every(id => sdkClientId.test(id)), `clientIds in the Link SDK for C's form: ${seen.a[0]}`)
  for (const cert of certs) {
    await store.moveDevice(cert.productKey, cert.deviceName, { from: 'iot-a', to: 'iot-b', jobId: 'job-light' })
    await store.publishMove({ jobId: 'job-light', productKey: cert.productKey, deviceName: cert.deviceName, fromInstanceId: 'iot-a', toInstanceId: 'iot-b' })
  }
  t.ok(await lt.until(x => x.rehomed === certs.length, 20_000), 'all re-homed')
  t.ok(await lt.until(x => x.online === certs.length, 5000), 'each old connection counted offline once, each new one online')
  t.ok(seen.b.length === certs.length && seen.b.every(id => sdkClientId.test(id)), 'each came to iot-b with a signed CONNECT')
  // The old broker saw each notify answered (the record stage), and the registry has them online at iot-b.
  const records = await store.getRecords('job-light')
  t.equal(records.length, certs.length)
  t.ok(records.every(r => r.move?.stage === 'kicked' && r.move.kick?.answered === true), 'every notify answered with the same id')
  const devices = await store.getDevices(certs[0]!.productKey, certs.map(c => c.deviceName))
  t.ok(devices.every(d => d?.instanceId === 'iot-b' && d.online !== null), 'online at the destination')
  const s = await lt.finish()
  t.equal(s.notified, certs.length)
  t.equal(s.rehomed, certs.length)
  t.equal(s.dropped, 0, 'a kick after notify is not a drop')
  t.same(s.failures, {})
  await eventually(async () => (await store.getDevices(certs[0]!.productKey, certs.map(c => c.deviceName))).every(d => d?.online === null), 'stopped with DISCONNECT: offline')
})

t.test('the command documents every option and refuses bad ones with a clear message', async t => {
  const bin = join(import.meta.dirname, '..', 'bin', 'homing.js')
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null, stdout: string, stderr: string }> =>
    within(30_000, new Promise(resolve => {
      const child = spawn(process.execPath, [bin, ...args], { env })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
      child.on('close', status => resolve({ status, stdout, stderr }))
    }), `homing ${args.join(' ')} to exit`)
  // Three processes at once: each loads the TypeScript sources through tsx.
  const [help, bad, missing] = await Promise.all([
    run(['loadtest', '--help']),
    run(['loadtest', '--url', url, '--devices', 'many']),
    run(['loadtest', '--url', url], { ...process.env, HOMING_TOKEN: '' })
  ])
  t.equal(help.status, 0)
  for (const flag of ['--url', '--token', '--instance', '--product', '--certificates', '--devices', '--workers', '--sources', '--ramp', '--in-flight', '--duration', '--publish-rate', '--keepalive', '--device-mode', '--json']) {
    t.match(help.stdout, flag)
  }
  t.not(bad.status, 0)
  t.match(bad.stderr, /--devices <n>' argument 'many' is invalid\. expected a whole number/)
  t.equal(missing.status, 2)
  t.match(missing.stderr, /--token \(or HOMING_TOKEN\) is needed/)
})
