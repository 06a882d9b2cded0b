// docs/operations.md, "Redis outage" with the real command: `homing bootstrap` killed -9 in the middle of a
// 10,000-device job, and another `homing bootstrap` started, finishes it: every device assigned once.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { newDevice } from '../shared/device.js'
import { openRedisStore } from '../shared/store/redis.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { productWithData as product } from './helpers/fixtures.js'
import { untilAsync } from './helpers/wait.js'

const keyPrefix = uniquePrefix('jobs-restart')
const dir = mkdtempSync(join(tmpdir(), 'homing-restart-'))
const TOKEN = 'restart-token-0123456789abcdef'
const DEVICES = 10_000
const children: ChildProcess[] = []

async function kill9 (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

t.teardown(async () => {
  await Promise.all(children.map(kill9))
  rmSync(dir, { recursive: true, force: true })
  await dropPrefix(keyPrefix)
})

const configFile = join(dir, 'homing.json')
writeFileSync(configFile, JSON.stringify({
  redis: REDIS_URL,
  keyPrefix,
  bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 100 },
  regions: [{ id: 'r1', name: 'Region 1', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: TOKEN }],
  instances: [
    { id: 'iot-a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1884 } },
    { id: 'iot-b', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1885 } }
  ]
}))

/** Starts `homing bootstrap`; resolves its port once it listens. */
async function sidecar (): Promise<{ child: ChildProcess, port: number }> {
  const child = spawn(process.execPath, ['bin/homing.js', 'bootstrap', '--config', configFile, '--port', '0'], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    const entry = JSON.parse(line) as { msg?: string, port?: number }
    if (entry.msg === 'listening' && typeof entry.port === 'number') {
      child.stdout?.resume()
      return { child, port: entry.port }
    }
  }
  throw new Error('homing bootstrap exited before listening')
}

t.test('homing bootstrap killed -9 mid-job; the next homing bootstrap finishes it, every device assigned once', async t => {
  const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
  t.teardown(() => store.close())
  const pk = 'a1restart01'
  const names = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(5, '0')}`)
  await store.createProduct(product(pk, 'iot-a'))
  for (let i = 0; i < names.length; i += 1000) await store.createDevices(names.slice(i, i + 1000).map(dn => newDevice(pk, dn, 'iot-a')))

  const first = await sidecar()
  const res = await fetch(`http://127.0.0.1:${first.port}/api/v1/distribution/jobs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ method: 'this-account', policy: 'region', sourceInstanceId: 'iot-a', targetInstanceId: 'iot-b', productKey: pk, deviceNames: names })
  })
  t.equal(res.status, 202, 'the job is accepted')
  const { jobId } = await res.json() as { jobId: string }
  await untilAsync(async () => ((await store.getJob(jobId))?.succeeded ?? 0) > 0, 30_000, 'a first device to succeed')
  await kill9(first.child)
  const halfway = await store.getJob(jobId)
  t.equal(halfway?.status, 'distributing', `killed mid-job (${halfway?.succeeded ?? 0} of ${DEVICES} recorded)`)

  await sidecar()
  await untilAsync(async () => (await store.getJob(jobId))?.status === 'distributed', 30_000, 'the job to end distributed')
  t.match(await store.getJob(jobId), { status: 'distributed', total: DEVICES, succeeded: DEVICES, failed: 0 })
  const records = await store.getRecords(jobId)
  t.equal(records.length, DEVICES, 'one record per device')
  t.ok(records.every(r => r.code === 'success'), 'all successes')
  let atB = 0
  for (let i = 0; i < names.length; i += 1000) {
    atB += (await store.getDevices(pk, names.slice(i, i + 1000))).filter(d => d?.instanceId === 'iot-b' && d.lastJobId === jobId).length
  }
  t.equal(atB, DEVICES, 'every device is assigned to iot-b, and only there')
})
