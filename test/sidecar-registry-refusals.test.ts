// Errors tell the truth. A Redis out of memory (noeviction, as a registry must run) refuses writes:
// every write route answers 503 saying so, leaves nothing half-written (no device name taken without
// its device, no job nobody was told about), and /readyz is false until a write works again. A body
// nested thousands deep is the client's fault (400), not the registry's.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { Redis } from 'ioredis'
import t from 'tap'
import type { Sidecar } from '../bootstrap/context.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { Topology } from '../shared/config.js'
import { Metrics, observedStore } from '../shared/metrics/index.js'
import { openRedisStore } from '../shared/store/redis.js'
import { freePort } from './helpers/free-port.js'
import { uniquePrefix } from './helpers/redis.js'
import { apiClient, capturingLogger, testConfig, TOKENS } from './helpers/test-sidecar.js'
import { indexKey } from '../shared/store/device-keys.js'
import { ALL_BUCKETS } from '../shared/store/indexes.js'

/** A Redis of this test's own with a small memory limit and no eviction. */
async function smallRedis (): Promise<{ url: string, stop: () => Promise<void> }> {
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory', '8mb', '--maxmemory-policy', 'noeviction', '--logfile', ''], { stdio: 'ignore' })
  for (let i = 0; ; i++) {
    if (i === 200) throw new Error(`redis-server did not start on ${port}`)
    const up = await new Promise<boolean>(resolve => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (up) break
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: async () => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}

const redisServer = await smallRedis()
t.teardown(() => redisServer.stop())
const prefix = uniquePrefix('refusals')
const admin = new Redis(redisServer.url)
t.teardown(() => admin.disconnect())

const config = testConfig()
const metrics = new Metrics({ defaults: false })
const raw = await openRedisStore({ url: redisServer.url, keyPrefix: prefix })
const store = observedStore(raw, metrics)
const { log, lines } = capturingLogger()
const sidecar: Sidecar = { config, topology: new Topology(config), store, log, metrics }
const server = await startSidecar(sidecar, { port: 0 })
t.teardown(async () => {
  await server.close()
  await raw.close()
})
const url = `http://127.0.0.1:${server.port}`
const acme = apiClient(url, TOKENS.acme)

const PK = 'a1OomTest01'
async function must (status: number, answer: Promise<{ status: number, text: string }>): Promise<void> {
  const res = await answer
  if (res.status !== status) throw new Error(`setup: expected ${status}, got ${res.status} ${res.text}`)
}
await must(201, acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK }))
await must(201, acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['lamp-0001', 'lamp-0002'] }))

const readyz = async (): Promise<{ status: number, body: unknown }> => {
  const res = await fetch(`${url}/readyz`)
  return { status: res.status, body: await res.json() }
}
const registryErrors = async (): Promise<string[]> =>
  (await metrics.render()).split('\n').filter(l => l.startsWith('homing_registry_errors_total{'))

/**
 * Puts the registry over its memory limit: a few megabytes of filler, then a limit below what it holds
 * (filling up to the limit exactly is not repeatable: a command's own buffer counts while it is read).
 * Answers the filler keys.
 */
async function fill (): Promise<string[]> {
  const keys = Array.from({ length: 8 }, (_, i) => `${prefix}filler:${i}`)
  for (const key of keys) await admin.set(key, 'x'.repeat(256 * 1024))
  await admin.config('SET', 'maxmemory', '1mb')
  await t.rejects(admin.set(`${prefix}filler:probe`, 'x'), /^OOM/, 'the registry refuses a write')
  return keys
}

/** Frees the filler and gives the registry its limit back. */
async function free (keys: string[]): Promise<void> {
  if (keys.length > 0) await admin.del(...keys.splice(0))
  await admin.config('SET', 'maxmemory', '8mb')
}

t.test('a JSON body nested 5,000 deep is a 400, not "registry unavailable", and no registry error is counted', async t => {
  const tsl = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)
  const res = await acme('POST', '/products', `{"instanceId":"iot-sh-1","name":"Deep","tsl":${tsl}}`)
  t.equal(res.status, 400)
  t.same(res.json, { error: { code: 'invalid', message: 'body nests deeper than 64 levels' } })
  t.same(await registryErrors(), [], 'homing_registry_errors_total has no series')
  t.same((await store.listProducts('iot-sh-1')).map(p => p.name), ['Lamp'])
})

/** Every name in the product's name index (its buckets), sorted. */
async function indexedNames (): Promise<string[]> {
  const buckets = await Promise.all(ALL_BUCKETS.map(b => admin.zrange(indexKey(prefix, PK, b, 'names'), 0, -1)))
  return buckets.flat().sort()
}

t.test('while Redis is out of memory', async t => {
  t.same(await readyz(), { status: 200, body: { status: 'ready' } }, 'ready before')
  const filler = await fill()
  t.teardown(() => free(filler))

  const refusal = (res: { status: number, json: any }, what: string): void => {
    t.equal(res.status, 503, `${what}: 503`)
    t.match(res.json?.error?.message, /^registry refuses writes .*nothing was changed/, `${what}: says the registry refuses writes`)
  }

  refusal(await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['lamp-0003', 'lamp-0004'] }), 'creating devices')
  t.same(await indexedNames(), ['lamp-0001', 'lamp-0002'], 'no name left in the index without a device')

  refusal(await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', count: 3 }), 'creating devices by count')
  t.same(await indexedNames(), ['lamp-0001', 'lamp-0002'])

  refusal(await acme('PATCH', `/products/${PK}`, { name: 'Renamed' }), 'PATCH of a product')
  t.equal((await store.getProduct(PK, 'iot-sh-1'))?.name, 'Lamp', 'the product is unchanged')

  refusal(await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Other', productKey: 'a1OomTest02' }), 'creating a product')
  t.same(await store.productCopies('a1OomTest02'), [], 'no product record')

  refusal(await acme('PUT', `/products/${PK}/devices/lamp-0001/tags`, { room: 'hall' }), 'setting tags')
  t.same((await store.getDevice(PK, 'lamp-0001'))?.tags, {}, 'no tags written')

  refusal(await acme('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1', productKey: PK, deviceNames: ['lamp-0001'] }), 'creating a job')
  t.equal((await store.listJobs({ accountId: 'acme', offset: 0, limit: 10 })).total, 0, 'no job listed')
  t.same(await store.unfinishedJobs(), [], 'no job left for a runner')
  t.same(await admin.keys(`${prefix}job:*`), [], 'no job record')

  t.same(await readyz(), { status: 503, body: { status: 'registry refuses writes' } }, 'not ready while writes are refused')
  t.notOk(lines.some(l => l.includes('"request failed"')), 'no 500 in the log')

  const bootstrap = await fetch(`${url}/auth/bootstrap`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `productKey=${PK}&deviceName=lamp-0001` })
  t.equal(bootstrap.status, 200, 'devices still bootstrap: reads work')

  await free(filler)
  t.same(await readyz(), { status: 200, body: { status: 'ready' } }, 'ready again once a probe write works')
  const again = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['lamp-0003', 'lamp-0004'] })
  t.equal(again.status, 201, 'the names refused earlier were never taken')
  const renamed = await acme('PATCH', `/products/${PK}`, { name: 'Renamed' })
  t.equal(renamed.status, 200)
})
