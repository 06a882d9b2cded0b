// `homing registry reindex` (docs/operations.md, "Rebuilding the device indexes"): a registry of the
// layout before buckets, and one whose indexes were broken by hand, both converge to indexes equal
// to a recount from the records; a second run changes nothing.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { homesOf, newDevice } from '../shared/device.js'
import { deviceStatus } from '../shared/device-status.js'
import { allDevices } from '../shared/store/device-pages.js'
import { deviceKey, indexKey, legacyDeviceKey } from '../shared/store/device-keys.js'
import { ALL_BUCKETS, bucketOf } from '../shared/store/indexes.js'
import { openRedisStore } from '../shared/store/redis.js'
import { reindexRegistry } from '../shared/store/reindex.js'
import type { DeviceCounts, Store } from '../shared/store/store.js'
import type { Device } from '../shared/types.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'

const keyPrefix = uniquePrefix('reindex')
const admin = new Redis(REDIS_URL)
const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
t.teardown(async () => {
  await store.close()
  admin.disconnect()
  await dropPrefix(keyPrefix)
})

function recount (devices: Device[], instanceId: string): DeviceCounts {
  const counts: DeviceCounts = { total: 0, online: 0, offline: 0, inactive: 0, disabled: 0 }
  for (const d of devices) {
    if (!homesOf(d).includes(instanceId)) continue
    counts.total++
    counts[deviceStatus(d)]++
  }
  return counts
}

/** The indexes answer what the records say, for every instance and every listing. */
async function converged (t: Test, s: Store, pk: string, devices: Device[]): Promise<void> {
  const names = devices.map(d => d.deviceName).sort()
  t.same((await allDevices(s, { productKey: pk })).map(d => d.deviceName), names, 'every device listed once')
  for (const inst of ['a', 'b']) {
    t.same(await s.countDevices(pk, inst), recount(devices, inst), `counts at ${inst}`)
    const here = devices.filter(d => homesOf(d).includes(inst)).map(d => d.deviceName).sort()
    t.same((await allDevices(s, { productKey: pk, instanceId: inst })).map(d => d.deviceName), here, `listing at ${inst}`)
    t.equal(await s.countMarked(pk, inst, 'moved'), devices.filter(d => d.lastJobId !== null && homesOf(d)[0] === inst).length, `moved to ${inst}`)
  }
}

t.test('a registry of the layout before buckets is moved and indexed', async t => {
  const pk = 'pkOld'
  const devices = Array.from({ length: 40 }, (_, i) => newDevice(pk, `old-${String(i).padStart(3, '0')}`, 'a'))
  devices.slice(0, 10).forEach(d => { d.instanceId = 'b'; d.lastJobId = 'j1'; d.runtime = { b: { active: true, firstConnectAt: 1, lastConnectAt: 1, lastDisconnectAt: 2, lastAddress: null, properties: null } } })
  devices[20]!.enabled = false
  for (const d of devices) await admin.set(legacyDeviceKey(keyPrefix, pk, d.deviceName), JSON.stringify(d))
  await admin.sadd(`${keyPrefix}names:{${pk}}`, ...devices.map(d => d.deviceName))
  t.same((await store.listDevices({ productKey: pk, limit: 10 })).devices, [], 'before: nothing is listed')

  const report = await reindexRegistry(store, keyPrefix)
  t.match(report, { migrated: 40, legacySets: 1 })
  t.equal(await admin.exists(legacyDeviceKey(keyPrefix, pk, 'old-000')), 0, 'the old key is gone')
  t.ok(await admin.get(deviceKey(keyPrefix, pk, 'old-000')), 'the record is at its new key')
  await converged(t, store, pk, devices)
  t.equal((await store.getDevice(pk, 'old-020'))?.enabled, false, 'records are moved as they were')
})

t.test('indexes broken by hand are repaired; a second run changes nothing', async t => {
  const pk = 'pkBroken'
  const names = Array.from({ length: 30 }, (_, i) => `brk-${String(i).padStart(3, '0')}`)
  await store.createDevices(names.map(dn => newDevice(pk, dn, 'a')))
  for (const dn of names.slice(0, 5)) await store.connected(pk, dn, { instanceId: 'a', nodeId: 'n', session: dn, address: null, at: 1 })
  await store.moveDevices(pk, names.slice(25), { from: 'a', to: 'b', jobId: 'j2' })
  const key = (dn: string, index: string): string => indexKey(keyPrefix, pk, bucketOf(dn), index)
  // Entries lost, entries that lie, and entries of records that do not exist.
  await admin.zrem(key('brk-000', 'at:a:online'), 'brk-000')
  await admin.zrem(key('brk-001', 'at:a'), 'brk-001')
  await admin.zrem(key('brk-026', 'names'), 'brk-026')
  await admin.zadd(key('brk-010', 'at:a:online'), 0, 'brk-010')
  await admin.zadd(key('brk-011', 'at:b'), 0, 'brk-011')
  await admin.zadd(key('ghost-01', 'names'), 0, 'ghost-01')
  await admin.zadd(key('ghost-02', 'at:b:online'), 0, 'ghost-02')
  await admin.zadd(indexKey(keyPrefix, pk, (bucketOf('brk-012') + 1) % 16, 'names'), 0, 'brk-012')
  const broken = await store.countDevices(pk, 'a')
  t.equal(broken.total, 24, 'before: a device is missing from the count at a')
  t.equal((await store.countDevices(pk, 'b')).online, 1, 'and a ghost is online at b')

  const report = await reindexRegistry(store, keyPrefix)
  t.ok(report.removed >= 5, `stale entries removed (${report.removed})`)
  const devices = (await store.getDevices(pk, names)).filter((d): d is Device => d !== null)
  await converged(t, store, pk, devices)

  const snapshot = async (): Promise<string[][]> => Promise.all(ALL_BUCKETS.flatMap(b => ['names', 'at:a', 'at:a:online', 'at:a:inactive', 'at:b', 'moved:b'].map(i => admin.zrange(indexKey(keyPrefix, pk, b, i), 0, -1))))
  const before = await snapshot()
  const again = await reindexRegistry(store, keyPrefix)
  t.match(again, { migrated: 0, removed: 0, legacySets: 0 }, 'a second run removes and moves nothing')
  t.same(await snapshot(), before, 'and leaves the indexes as they were')
})

t.test('the command: homing registry reindex --config FILE', async t => {
  const config = join(tmpdir(), `${keyPrefix.replace(/\W/g, '')}.json`)
  writeFileSync(config, JSON.stringify({
    redis: REDIS_URL,
    keyPrefix,
    regions: [{ id: 'r1', name: 'R1', lat: 0, lon: 0 }],
    accounts: [{ id: 'acme', name: 'Acme', token: 'acme-token-0123456789abcdef' }],
    instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'mqtt.example.com', port: 1883 } }]
  }))
  const out = await new Promise<{ code: number, stdout: string, stderr: string }>(resolve => {
    execFile(process.execPath, ['bin/homing.js', 'registry', 'reindex', '--config', config], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
  t.equal(out.code, 0, out.stderr)
  t.match(out.stdout, /^moved from the old layout: 0; records indexed: \d+; stale index entries removed: 0; old name sets removed: 0\n$/)
})
