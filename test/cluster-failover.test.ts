// Failover of the registry mid-job (docs/operations.md, "Redis Cluster"): a Cluster of three masters
// with a replica each; `homing bootstrap` and one `homing broker` per instance run on it. A job moves
// a few thousand devices (some online) from iot-a to iot-b; in the middle of it the master that
// serves iot-a's move stream (and a third of the devices) is SIGKILLed. Once its replica took over,
// the job ends distributed, every device is at iot-b exactly once, the online ones came back at
// iot-b, a fresh bootstrap and a signed CONNECT work, and no Homing process was restarted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { bootstrap, DeviceClient } from '../device/index.js'
import type { Certificate } from '../shared/types.js'
import { connackCode, credentials } from './helpers/broker.js'
import { freePort } from './helpers/free-port.js'
import { startHoming, type HomingProcess } from './helpers/homing-process.js'
import { uniquePrefix } from './helpers/redis.js'
import { ownCluster } from './helpers/redis-cluster.js'
import { ownRedis } from './helpers/redis-server.js'
import { eventually, within } from './helpers/wait.js'
import { deviceKey } from '../shared/store/device-keys.js'

const started = Date.now()
const keyPrefix = uniquePrefix('failover')
const cluster = await ownCluster({ replicas: 1, nodeTimeoutMs: 1000 })
const brokerRedis = await ownRedis()
await brokerRedis.start()
const dir = mkdtempSync(join(tmpdir(), 'homing-failover-'))
const TOKEN = 'failover-token-0123456789abcdef'
const processes: HomingProcess[] = []
t.teardown(async () => {
  for (const p of processes) p.kill()
  await Promise.all(processes.map(p => within(10_000, p.exited, 'a homing process to exit').catch(() => {})))
  rmSync(dir, { recursive: true, force: true })
  await brokerRedis.remove()
  await cluster.remove()
  t.comment(`run time ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

const [aPort, bPort] = [await freePort(), await freePort()]
const configFile = join(dir, 'homing.json')
writeFileSync(configFile, JSON.stringify({
  redis: { cluster: cluster.urls },
  keyPrefix,
  bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 100, jobBatchSize: 100 },
  broker: { notifyTimeoutMs: 500, redis: brokerRedis.url },
  regions: [{ id: 'cn-shanghai', name: 'China (Shanghai)', lat: 31.23, lon: 121.47 }, { id: 'eu-central-1', name: 'Germany (Frankfurt)', lat: 50.11, lon: 8.68 }],
  accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKEN }],
  instances: [
    { id: 'iot-a', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port: aPort }, listen: { host: '127.0.0.1', mqtt: aPort } },
    { id: 'iot-b', region: 'eu-central-1', account: 'acme', endpoint: { host: '127.0.0.1', port: bPort }, listen: { host: '127.0.0.1', mqtt: bPort } }
  ]
}))

function homing (args: string[]): HomingProcess {
  const p = startHoming([...args, '--config', configFile])
  processes.push(p)
  return p
}

const sidecar = homing(['bootstrap', '--port', '0'])
const brokerA = homing(['broker', '--instance', 'iot-a', '--node', 'a1', '--mqtt-port', String(aPort)])
const brokerB = homing(['broker', '--instance', 'iot-b', '--node', 'b1', '--mqtt-port', String(bPort)])
const sidecarPort = (await sidecar.logged('listening', e => typeof e.port === 'number')).port as number
const bootstrapUrl = `http://127.0.0.1:${sidecarPort}`
const pids = processes.map(p => p.child.pid)

async function api (method: string, path: string, body?: unknown): Promise<{ status: number, text: string, json: any }> { // any: read by path, as a user would
  const res = await fetch(`${bootstrapUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000)
  })
  const text = await res.text()
  let json: unknown = null
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, text, json }
}

const PK = 'a1lampFail01'
const N = 3000
const ONLINE = 12
const names = Array.from({ length: N }, (_, i) => `dev-${String(i).padStart(5, '0')}`)
await api('POST', '/products', { instanceId: 'iot-a', name: 'Lamp', productKey: PK })
const certs = new Map<string, Certificate>()
for (let i = 0; i < N; i += 1000) {
  const created = await api('POST', `/products/${PK}/devices`, { instanceId: 'iot-a', deviceNames: names.slice(i, i + 1000) })
  if (created.status !== 201) throw new Error(`devices not created: ${created.text}`)
  for (const c of created.json.certificates as Certificate[]) certs.set(c.deviceName, c)
}
const cert = (dn: string): Certificate => certs.get(dn) as Certificate

t.test('the master serving the move stream dies mid-job; after failover the job completes and nothing is lost or doubled', async t => {
  // Wait until both brokers accept devices (a signed CONNECT answered at iot-a).
  await eventually(async () => await connackCode(aPort, credentials(cert(names[0] as string))).catch(() => -1) === 0, 'the broker of iot-a to accept a device', { ms: 30_000, every: 200 })
  await brokerB.logged('listening', () => true).catch(() => {})

  // Online devices moved before the kill, around it, and long after it; half of them on the dying master.
  const victim = await cluster.masterOf(`${keyPrefix}events:iot-a`)
  const onVictim: string[] = []
  const elsewhere: string[] = []
  for (const dn of [...names.slice(0, 150), ...names.slice(-150)]) {
    if (await cluster.masterOf(deviceKey(keyPrefix, PK, dn)) === victim) onVictim.push(dn)
    else elsewhere.push(dn)
  }
  const pick = (from: string[]): string[] => [...from.slice(0, ONLINE / 4), ...from.slice(-ONLINE / 4)]
  const online = [...pick(onVictim), ...pick(elsewhere)]
  t.equal(new Set(online).size, ONLINE, 'online devices before and after the kill, on the dying master and elsewhere')
  const clients = online.map(dn => new DeviceClient({ certificate: cert(dn), bootstrapUrl, backoff: { baseMs: 50, capMs: 500 } }))
  t.teardown(() => Promise.all(clients.map(c => c.stop())))
  await within(30_000, Promise.all(clients.map(c => c.start())), 'the online devices to bootstrap and connect')
  t.ok(clients.every(c => c.endpoint?.port === aPort), 'the online devices are at iot-a')

  const job = await api('POST', '/distribution/jobs', {
    method: 'this-account', policy: 'region', sourceInstanceId: 'iot-a', targetInstanceId: 'iot-b', productKey: PK, deviceNames: names
  })
  t.equal(job.status, 202, job.text)
  const jobPath = `/distribution/jobs/${job.json.jobId as string}`

  // Mid-job: once some devices moved and some did not.
  let atKill: { succeeded: number, pending: number } = { succeeded: 0, pending: N }
  await eventually(async () => {
    atKill = (await api('GET', jobPath)).json.counts
    return atKill.succeeded > 0
  }, 'the job to move its first devices', { ms: 20_000, every: 20 })
  await cluster.kill(victim)
  const killedAt = Date.now()
  t.ok(atKill.pending > 0, `the master died mid-job (${atKill.succeeded} moved, ${atKill.pending} pending)`)
  await cluster.failedOver(victim, 20_000)
  t.comment(`failover took ${Date.now() - killedAt} ms`)

  let view: any = null // any: read by path
  await eventually(async () => {
    view = (await api('GET', jobPath)).json
    return view?.status === 'distributed'
  }, () => `the job to end distributed after the failover; last: ${JSON.stringify(view)}`, { ms: 30_000, every: 200 })
  t.same(view.counts, { total: N, succeeded: N, failed: 0, pending: 0 }, 'every device moved')

  // Every device, read: all at iot-b, each once, none left at iot-a.
  const atB: string[] = []
  for (let offset = 0; offset < N + 1000; offset += 1000) {
    const page = await api('GET', `/products/${PK}/devices?instanceId=iot-b&offset=${offset}&limit=1000`)
    t.equal(page.status, 200, `iot-b's devices from ${offset}`)
    for (const d of page.json.devices as Array<{ deviceName: string, instanceId: string }>) {
      if (d.instanceId !== 'iot-b') t.fail(`${d.deviceName} listed at iot-b but placed at ${d.instanceId}`)
      atB.push(d.deviceName)
    }
    if (offset === 0) t.equal(page.json.total, N, 'iot-b lists every device')
  }
  t.equal(new Set(atB).size, atB.length, 'no device listed twice at iot-b')
  t.same([...atB].sort(), names, 'every device is at iot-b')
  const atA = await api('GET', `/products/${PK}/devices?instanceId=iot-a&limit=1000`)
  t.equal(atA.json?.total ?? 0, 0, `no device left at iot-a (${atA.status})`)

  // The online devices were notified, left iot-a, and came back at iot-b.
  await eventually(() => clients.every(c => c.connected && c.endpoint?.port === bPort),
    () => `every online device to be connected at iot-b; at: ${clients.map(c => `${String(c.connected)}@${String(c.endpoint?.port)}`).join(' ')}`, { ms: 20_000, every: 100 })
  for (const dn of online) t.match((await api('GET', `/products/${PK}/devices/${dn}`)).json, { instanceId: 'iot-b', online: true }, `${dn} online at iot-b`)

  // Each online device's move event reached iot-a's broker: its record says it was told and left.
  let rows: string[][] = []
  await eventually(async () => {
    rows = parse((await api('GET', `${jobPath}/records`)).text) as string[][]
    return rows.filter(r => online.includes(r[1] as string)).every(r => /; online; notified; .*disconnected$/.test(r[3] ?? ''))
  }, () => `the records of the online devices to say notified and disconnected; got ${JSON.stringify(rows.filter(r => online.includes(r[1] as string)))}`, { ms: 10_000, every: 200 })
  t.equal(rows.length, N + 1, 'one record per device')
  t.ok(rows.slice(1).every(r => r[2] === 'success'), 'every record says success')

  // A fresh bootstrap and a signed CONNECT, for a device whose record lives on the promoted replica.
  const fresh = onVictim.find(dn => !online.includes(dn)) as string
  const endpoint = await bootstrap({ productKey: PK, deviceName: fresh }, { url: bootstrapUrl })
  t.same([endpoint.host, endpoint.port], ['127.0.0.1', bPort], 'bootstrap answers iot-b')
  t.equal(await connackCode(bPort, credentials(cert(fresh))), 0, 'a signed CONNECT at iot-b is accepted')
  t.equal(await connackCode(aPort, credentials(cert(fresh))), 5, 'and refused at iot-a')

  // What the processes said about the failover (warnings and errors), for whoever reads the run.
  for (const p of processes) for (const e of p.entries) if ((e.level ?? 0) >= 40) t.comment(`homing ${p.child.spawnargs[2] ?? ''}: ${String(e.msg)}: ${String(e.err ?? e.reason ?? '')}`)
  // No Homing process was restarted.
  t.same(processes.map(p => p.child.pid), pids, 'same PIDs')
  t.ok(processes.every(p => p.child.exitCode === null && p.child.signalCode === null), `every Homing process still runs (${[sidecar, brokerA, brokerB].map(p => p.child.exitCode ?? p.child.signalCode ?? 'up').join(', ')})`)
})
