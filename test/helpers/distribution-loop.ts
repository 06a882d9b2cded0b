// The whole distribution loop with separate processes, over a registry the caller provides (one
// Redis, or a Redis Cluster with the brokers' parts on a Redis of their own): `homing bootstrap`
// (sidecar and job runner), two `homing broker` nodes of instance iot-a, one of iot-b. Devices online
// at both nodes of iot-a are moved to iot-b by one job through the API: each is notified (one that
// never subscribed, one that never answers), disconnected, and comes back at iot-b through the
// bootstrap; the records CSV says what happened to each (docs/protocol.md, "Notify and reply";
// docs/distribution.md, "Rule 6").
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parse } from 'csv-parse/sync'
import type { MqttClient } from 'mqtt'
import { bootstrap, DeviceClient, type RehomedEvent } from '../../device/index.js'
import { messageId, notifyReplyPayload } from '../../shared/alink.js'
import { notifyReplyTopic, notifyTopic } from '../../shared/topics.js'
import type { Certificate } from '../../shared/types.js'
import { closed, connackCode, connectDevice, credentials } from './broker.js'
import { freePort } from './free-port.js'
import { FRANKFURT, SHANGHAI } from './regions.js'
import { untilAsync, within } from './wait.js'
import type { Test } from 'tap'
import { uniquePrefix } from './redis.js'

export interface LoopRegistry {
  /** The config's `redis`: a URL, or `{ cluster: [...] }`. */
  redis: unknown
  /** Extra `broker` keys, e.g. `{ redis: url }` when the registry is a Cluster. */
  broker?: Record<string, unknown>
  /** Removes what the run left under its key prefix (and stops servers the caller started). */
  cleanup: (keyPrefix: string) => Promise<void>
}

export async function distributionLoop (t: Test, label: string, registry: LoopRegistry): Promise<void> {
  const keyPrefix = uniquePrefix(label)
  const dir = mkdtempSync(join(tmpdir(), 'homing-e2e-'))
  const TOKEN = 'e2e-token-0123456789abcdef'
  const children: ChildProcess[] = []
  t.teardown(async () => {
    await Promise.all(children.map(async child => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }))
    rmSync(dir, { recursive: true, force: true })
    await registry.cleanup(keyPrefix)
  })

  const [a1Port, a2Port, bPort] = [await freePort(), await freePort(), await freePort()]
  const configFile = join(dir, 'homing.json')
  writeFileSync(configFile, JSON.stringify({
    redis: registry.redis,
    keyPrefix,
    bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 100 },
    broker: { notifyTimeoutMs: 500, ...registry.broker },
    regions: [SHANGHAI, FRANKFURT],
    accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKEN }],
    instances: [
      { id: 'iot-a', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port: a1Port }, listen: { host: '127.0.0.1', mqtt: a1Port } },
      { id: 'iot-b', region: 'eu-central-1', account: 'acme', endpoint: { host: '127.0.0.1', port: bPort }, listen: { host: '127.0.0.1', mqtt: bPort } }
    ]
  }))

  function homing (args: string[]): ChildProcess {
    const child = spawn(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(child)
    return child
  }

  /** The port `homing bootstrap` logs once it listens. */
  async function listeningPort (child: ChildProcess): Promise<number> {
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      const entry = JSON.parse(line) as { msg?: string, port?: number }
      if (entry.msg === 'listening' && typeof entry.port === 'number') return entry.port
    }
    throw new Error('homing bootstrap exited before listening')
  }

  async function accepting (port: number): Promise<void> {
    await untilAsync(() => new Promise<boolean>(resolve => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    }), 60_000)
  }

  // Four processes, started side by side.
  const sidecar = homing(['bootstrap', '--config', configFile, '--port', '0'])
  for (const [instance, node, port] of [['iot-a', 'a1', a1Port], ['iot-a', 'a2', a2Port], ['iot-b', 'b1', bPort]] as const) {
    const child = homing(['broker', '--config', configFile, '--instance', instance, '--node', node, '--mqtt-port', String(port)])
    child.stdout?.resume()
  }
  const sidecarPort = await listeningPort(sidecar)
  sidecar.stdout?.resume()
  await Promise.all([a1Port, a2Port, bPort].map(accepting))
  const bootstrapUrl = `http://127.0.0.1:${sidecarPort}`

  async function api (method: string, path: string, body?: unknown): Promise<{ status: number, text: string, json: any }> { // any: read by path, as a user would
    const res = await fetch(`${bootstrapUrl}/api/v1${path}`, {
      method, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    let json: unknown = null
    try { json = JSON.parse(text) } catch {}
    return { status: res.status, text, json }
  }

  const PK = 'a1lampE2e01'
  const SDK = ['sdk-0001', 'sdk-0002', 'sdk-0003']
  const MUTE = 'mute-0001' // never subscribes, answers the notify as the Link SDK does
  const DEAF = 'deaf-0001' // never subscribes, never answers
  const ASLEEP = 'asleep-0001' // offline during the job
  await api('POST', '/products', { instanceId: 'iot-a', name: 'Lamp', productKey: PK })
  const created = await api('POST', `/products/${PK}/devices`, { instanceId: 'iot-a', deviceNames: [...SDK, MUTE, DEAF, ASLEEP] })
  if (created.status !== 201) throw new Error(`devices not created: ${created.text}`)
  const certs = new Map<string, Certificate>((created.json.certificates as Certificate[]).map(c => [c.deviceName, c]))
  const cert = (dn: string): Certificate => certs.get(dn) as Certificate

  t.test('devices online at both nodes of iot-a are notified, kicked, and come back at iot-b; the records say so', async t => {
    // Well-behaved devices: bootstrap, connect to iot-a's endpoint (node a1), re-home on notify.
    const clients = SDK.map(dn => new DeviceClient({ certificate: cert(dn), bootstrapUrl, backoff: { baseMs: 50, capMs: 500 } }))
    t.teardown(() => Promise.all(clients.map(c => c.stop())))
    await Promise.all(clients.map(c => c.start()))
    t.ok(clients.every(c => c.endpoint?.port === a1Port), 'bootstrap sent them to iot-a')
    const rehomed = clients.map(c => once(c, 'rehomed') as Promise<[RehomedEvent]>)

    // mqtt.js devices straight at node a2, with no SUBSCRIBE at all.
    const notifies = new Map<string, string[]>()
    const raw = async (dn: string, answer: boolean): Promise<MqttClient> => {
      const client = await connectDevice(a2Port, cert(dn))
      client.on('message', (topic, payload, packet) => {
        if (topic !== notifyTopic(PK, dn)) return
        notifies.set(dn, [...(notifies.get(dn) ?? []), `${payload.toString()} qos ${packet.qos}`])
        if (answer) client.publish(notifyReplyTopic(PK, dn), notifyReplyPayload(messageId(payload) ?? ''), { qos: 0 })
      })
      return client
    }
    const mute = await raw(MUTE, true)
    const deaf = await raw(DEAF, false)
    t.teardown(() => { mute.end(true); deaf.end(true) })
    const muteClosed = closed(mute)
    const deafClosed = closed(deaf)
    for (const dn of [...SDK, MUTE, DEAF]) t.equal((await api('GET', `/products/${PK}/devices/${dn}`)).json.online, true, `${dn} is online at iot-a`)

    const job = await api('POST', '/distribution/jobs', {
      method: 'this-account',
      policy: 'region',
      sourceInstanceId: 'iot-a',
      targetInstanceId: 'iot-b',
      productKey: PK,
      deviceNames: [...SDK, MUTE, DEAF, ASLEEP]
    })
    t.equal(job.status, 202)

    // docs/protocol.md, "Notify and reply": the notify reaches devices that never subscribed, at QoS 0, and they are disconnected.
    await within(10_000, Promise.all([muteClosed, deafClosed]), 'the broker to notify and disconnect the two mqtt.js devices at node a2')
    for (const dn of [MUTE, DEAF]) {
      t.equal(notifies.get(dn)?.length, 1, `${dn}: one notify`)
      t.match(notifies.get(dn)?.[0], /^\{"id":"\d+","version":"1\.0","method":"thing\.bootstrap\.notify","params":\{"cmd":0\}\} qos 0$/)
    }
    t.equal(await connackCode(a2Port, credentials(cert(DEAF))), 5, 'the silent device\'s next CONNECT at iot-a: CONNACK 5')
    t.equal(await connackCode(a1Port, credentials(cert(MUTE))), 5, 'at either node of iot-a')

    // Back through the bootstrap, to iot-b.
    for (const dn of [MUTE, DEAF]) {
      const endpoint = await bootstrap({ productKey: PK, deviceName: dn }, { url: bootstrapUrl })
      t.same([endpoint.host, endpoint.port], ['127.0.0.1', bPort], `${dn}: bootstrap now answers iot-b`)
      const again = await connectDevice(endpoint.port, cert(dn))
      await again.endAsync()
    }
    const moved = await within(15_000, Promise.all(rehomed), 'every SDK-style device to re-home to iot-b')
    t.ok(moved.every(([e]) => e.from.port === a1Port && e.to.port === bPort), 'the SDK-style devices re-homed to iot-b on their own')
    t.ok(clients.every(c => c.connected && c.endpoint?.port === bPort))

    await untilAsync(async () => (await api('GET', `/distribution/jobs/${job.json.jobId}`)).json.status === 'distributed', 10_000, 'the job to end distributed')
    const view = await api('GET', `/distribution/jobs/${job.json.jobId}`)
    t.same(view.json.counts, { total: 6, succeeded: 6, failed: 0, pending: 0 })
    let rows: string[][] = []
    await untilAsync(async () => {
      rows = parse((await api('GET', `/distribution/jobs/${job.json.jobId}/records`)).text) as string[][]
      return rows.slice(1).every(r => r[3] !== 'moved to iot-b')
    })
    t.same(rows.map(r => r.slice(0, 3)), [['productKey', 'deviceName', 'code'], ...[...SDK, MUTE, DEAF, ASLEEP].map(dn => [PK, dn, 'success'])], 'one row per device, in job order')
    // The DeviceClient answers and disconnects at once (as SDKs may): the old broker sees the reply
    // as it arrives (authorizePublish), before the socket closes.
    t.same(rows.filter(r => SDK.includes(r[1] as string)).map(r => r[3]), SDK.map(() => 'moved to iot-b; online; notified; answered; disconnected'),
      'devices that answer and leave at once are recorded as answered')
    t.same(rows.slice(1).filter(r => !SDK.includes(r[1] as string)), [
      [PK, MUTE, 'success', 'moved to iot-b; online; notified; answered; disconnected'],
      [PK, DEAF, 'success', 'moved to iot-b; online; notified; no answer; disconnected'],
      [PK, ASLEEP, 'success', 'moved to iot-b; offline']
    ])
    for (const dn of SDK) t.match((await api('GET', `/products/${PK}/devices/${dn}`)).json, { instanceId: 'iot-b', online: true, active: true }, `${dn} online and active at iot-b`)
    t.match((await api('GET', `/products/${PK}/devices/${ASLEEP}`)).json, { instanceId: 'iot-b', status: 'inactive' }, 'the sleeping device waits at iot-b, inactive')
  })
}
