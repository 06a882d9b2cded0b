// The registry's device indexes (docs/architecture.md, "Indexes"): listings by cursor and counts
// agree with the records themselves after every kind of write, on every backend.
import fc from 'fast-check'
import type { Test } from 'tap'
import { homesOf, newDevice } from '../shared/device.js'
import { DEVICE_STATUSES, deviceStatus, type DeviceStatus } from '../shared/device-status.js'
import { allDevices } from '../shared/store/device-pages.js'
import type { DeviceCounts, DeviceQuery, Store } from '../shared/store/store.js'
import type { Device } from '../shared/types.js'

const at = (instanceId: string, session: string) => ({ instanceId, nodeId: 'n1', session, address: null, at: 1000 })
const name = (i: number): string => `dev-${String(i).padStart(3, '0')}`

/** The counts recomputed from the records: what the indexes must say. */
function recount (devices: Device[], instanceId: string, prefix?: string): DeviceCounts {
  const counts: DeviceCounts = { total: 0, online: 0, offline: 0, inactive: 0, disabled: 0 }
  for (const d of devices) {
    if (!homesOf(d).includes(instanceId) || (prefix !== undefined && !d.deviceName.startsWith(prefix))) continue
    counts.total++
    counts[deviceStatus(d)]++
  }
  return counts
}

async function records (store: Store, productKey: string, names: string[]): Promise<Device[]> {
  return (await store.getDevices(productKey, names)).filter((d): d is Device => d !== null)
}

/** Every name of a listing, page by page with `limit`, checking that no page is longer than asked. */
async function walk (t: Test, store: Store, query: Omit<DeviceQuery, 'limit' | 'after'>, limit: number): Promise<string[]> {
  const out: string[] = []
  let after: string | undefined
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.listDevices({ ...query, limit, after })
    if (page.devices.length > limit) t.fail(`a page of ${page.devices.length} with limit ${limit}`)
    out.push(...page.devices.map(d => d.deviceName))
    if (page.next === null) return out
    after = page.next
  }
  throw new Error('the listing never ended')
}

export function indexCases (t: Test, store: Store): void {
  t.test('listings by instance, status and prefix page by cursor over many pages', async t => {
    const pk = 'pkList'
    const names = Array.from({ length: 130 }, (_, i) => name(i))
    t.same(await store.createDevices(names.map(dn => newDevice(pk, dn, 'a'))), [])
    for (const dn of names.filter((_, i) => i % 3 === 0)) await store.connected(pk, dn, at('a', `s-${dn}`))
    for (const dn of names.filter((_, i) => i % 3 === 0 && i % 2 === 0)) await store.disconnected(pk, dn, `s-${dn}`, 2000)
    for (const dn of names.filter((_, i) => i % 7 === 0)) await store.disableDevice(pk, dn, 'a')
    const toB = names.filter((_, i) => i % 5 === 1)
    await store.moveDevices(pk, toB, { from: 'a', to: 'b', jobId: 'jL' })
    const devices = await records(store, pk, names)

    t.same(await walk(t, store, { productKey: pk }, 7), names, 'every device of the product, in name order, over 19 pages')
    t.same(await walk(t, store, { productKey: pk, instanceId: 'a' }, 9), names.filter(dn => !toB.includes(dn)), 'the devices at a')
    t.same(await walk(t, store, { productKey: pk, instanceId: 'b' }, 4), toB, 'the devices at b')
    t.same(await walk(t, store, { productKey: pk, instanceId: 'b', movedOnly: true }, 4), toB, 'the devices moved to b')
    t.same(await walk(t, store, { productKey: pk, instanceId: 'a', movedOnly: true }, 4), [], 'none was moved to a')
    for (const status of DEVICE_STATUSES) {
      const expected = devices.filter(d => d.instanceId === 'a' && deviceStatus(d) === status).map(d => d.deviceName)
      t.same(await walk(t, store, { productKey: pk, instanceId: 'a', status }, 6), expected, `${status} at a (${expected.length})`)
    }
    t.same(await walk(t, store, { productKey: pk, instanceId: 'a', prefix: 'dev-01' }, 3), names.filter(dn => dn.startsWith('dev-01') && !toB.includes(dn)), 'by name prefix')
    t.same(await walk(t, store, { productKey: pk, prefix: 'dev-1' }, 8), names.filter(dn => dn.startsWith('dev-1')), 'by prefix over the product')
    t.same(await walk(t, store, { productKey: pk, prefix: 'nope' }, 8), [], 'a prefix no name has')

    const page = await store.listDevices({ productKey: pk, instanceId: 'a', after: 'dev-050', prefix: 'dev-0', limit: 5 })
    t.same(page.devices.map(d => d.deviceName), ['dev-052', 'dev-053', 'dev-054', 'dev-055', 'dev-057'], 'a cursor inside a prefix')
    t.equal(page.next, 'dev-057')
    const last = await store.listDevices({ productKey: pk, instanceId: 'a', limit: 200 })
    t.equal(last.next, null, 'a page that holds the rest has no next')
    const byOffset = await store.listDevices({ productKey: pk, instanceId: 'a', offset: 10, limit: 5 })
    t.same(byOffset.devices.map(d => d.deviceName), names.filter(dn => !toB.includes(dn)).slice(10, 15), 'offset paging still works')

    t.same(await store.countDevices(pk, 'a'), recount(devices, 'a'), 'counts at a')
    t.same(await store.countDevices(pk, 'b'), recount(devices, 'b'), 'counts at b')
    t.same(await store.countDevices(pk, 'a', 'dev-1'), recount(devices, 'a', 'dev-1'), 'counts of a prefix')
    t.equal(await store.countMarked(pk, 'b', 'moved'), toB.length)
    t.equal(await store.countMarked(pk, 'a', 'away'), toB.length, 'created at a, living at b')
    t.equal(await store.countMarked(pk, 'b', 'away'), 0)
  })

  t.test('counts are exact after create, connect, disconnect, disable, enable, move, placement and delete', async t => {
    const pk = 'pkCount'
    const names = ['c-001', 'c-002', 'c-003', 'c-004']
    const check = async (what: string, expected: Partial<Record<string, Partial<DeviceCounts>>>): Promise<void> => {
      const devices = await records(store, pk, names)
      for (const inst of ['a', 'b', 'c']) {
        const counts = await store.countDevices(pk, inst)
        t.same(counts, recount(devices, inst), `${what}: counts at ${inst} match the records`)
        if (expected[inst] !== undefined) t.match(counts, expected[inst], `${what}: at ${inst}`)
      }
    }
    await store.createDevices(names.map(dn => newDevice(pk, dn, 'a')))
    await check('created', { a: { total: 4, inactive: 4 } })
    await store.connected(pk, 'c-001', at('a', 's1'))
    await store.connected(pk, 'c-002', at('a', 's2'))
    await check('two connected', { a: { total: 4, online: 2, inactive: 2 } })
    await store.connected(pk, 'c-001', at('a', 's1b'))
    await check('a takeover', { a: { total: 4, online: 2, inactive: 2 } })
    await store.disconnected(pk, 'c-002', 's2', 2000)
    await store.disconnected(pk, 'c-001', 's1', 2000)
    await check('one disconnected, a stale disconnect', { a: { online: 1, offline: 1, inactive: 2 } })
    await store.disableDevice(pk, 'c-001', 'a')
    await check('online one disabled', { a: { total: 4, online: 0, disabled: 1, offline: 1 } })
    await store.enableDevice(pk, 'c-001', 'a')
    await check('enabled again', { a: { online: 1, disabled: 0 } })
    await store.moveDevice(pk, 'c-001', { from: 'a', to: 'b', jobId: 'j1' })
    await check('moved while online', { a: { total: 3, online: 0 }, b: { total: 1, online: 1 } })
    t.equal(await store.countMarked(pk, 'b', 'moved'), 1)
    await store.disconnected(pk, 'c-001', 's1b', 3000)
    await check('it went offline at b', { b: { total: 1, inactive: 1 } })
    const candidates = [{ region: 'r2', instanceId: 'b' }, { region: 'r3', instanceId: 'c' }]
    await store.setCandidates(pk, 'c-003', { from: 'a', candidates, jobId: 'j2' })
    await check('waiting among b and c', { a: { total: 2 }, b: { total: 2, inactive: 2 }, c: { total: 1, inactive: 1 } })
    t.equal(await store.countMarked(pk, 'b', 'moved'), 2, 'moved: a waiting device counts at its first candidate')
    t.equal(await store.countMarked(pk, 'c', 'moved'), 0, 'and only there')
    await store.disableDevice(pk, 'c-003', 'c')
    await check('disabled while waiting', { b: { disabled: 1 }, c: { disabled: 1 } })
    await store.place(pk, 'c-003', { instanceId: 'c', region: 'r3', fallback: false, address: null, at: 4000 })
    await check('placed at c', { b: { total: 1 }, c: { total: 1, disabled: 1 } })
    t.equal(await store.countMarked(pk, 'c', 'moved'), 1)
    t.equal(await store.countMarked(pk, 'a', 'away'), 2)
    await store.deleteDevice(pk, 'c-004')
    await store.deleteDevice(pk, 'c-004')
    await check('deleted (twice)', { a: { total: 1, offline: 1 } })
    t.same((await store.listDevices({ productKey: pk, limit: 10 })).devices.map(d => d.deviceName), ['c-001', 'c-002', 'c-003'])
    t.same(await store.createDevices([newDevice(pk, 'c-002', 'b')]), ['c-002'], 'a taken name changes no index')
    await check('a refused create', { a: { total: 1 } })
  })

  t.test('a device moved while a listing pages through is never listed twice, and one that stays is never missed', async t => {
    const pk = 'pkWalk'
    const names = Array.from({ length: 60 }, (_, i) => name(i))
    await store.createDevices(names.map(dn => newDevice(pk, dn, 'a')))
    const seen: string[] = []
    const moving = new Set<string>()
    let after: string | undefined
    for (let round = 0; ; round++) {
      const page = await store.listDevices({ productKey: pk, instanceId: 'a', limit: 7, after })
      seen.push(...page.devices.map(d => d.deviceName))
      // Between pages, devices behind and ahead of the cursor leave and come back.
      const behind = name(round * 7)
      const ahead = name(Math.min(59, round * 7 + 10))
      for (const dn of [behind, ahead]) {
        moving.add(dn)
        await store.moveDevice(pk, dn, { from: 'a', to: 'b', jobId: `jw${round}` })
        await store.moveDevice(pk, dn, { from: 'b', to: 'a', jobId: `jw${round}-back` })
      }
      if (page.next === null) break
      after = page.next
    }
    t.equal(new Set(seen).size, seen.length, 'no device twice in one pass')
    t.same(seen, [...seen].sort(), 'in name order')
    const stayed = names.filter(dn => !moving.has(dn))
    t.same(stayed.filter(dn => !seen.includes(dn)), [], `every device that stayed is listed (${stayed.length})`)
  })

  t.test('after random writes, counts and listings equal a recount from the records', async t => {
    const instances = ['a', 'b', 'c']
    const op = fc.oneof(
      fc.record({ kind: fc.constant('connect' as const), i: fc.nat(7), inst: fc.constantFrom(...instances) }),
      fc.record({ kind: fc.constant('disconnect' as const), i: fc.nat(7) }),
      fc.record({ kind: fc.constantFrom('disable' as const, 'enable' as const), i: fc.nat(7), inst: fc.constantFrom(...instances) }),
      fc.record({ kind: fc.constant('move' as const), i: fc.nat(7), from: fc.constantFrom(...instances), to: fc.constantFrom(...instances) }),
      fc.record({ kind: fc.constant('wait' as const), i: fc.nat(7), from: fc.constantFrom(...instances) }),
      fc.record({ kind: fc.constant('place' as const), i: fc.nat(7), inst: fc.constantFrom('b', 'c') }),
      fc.record({ kind: fc.constant('delete' as const), i: fc.nat(7) }),
      fc.record({ kind: fc.constant('create' as const), i: fc.nat(7), inst: fc.constantFrom(...instances) })
    )
    let run = 0
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async ops => {
      const pk = `pkProp${++run}`
      const names = Array.from({ length: 8 }, (_, i) => `p-${i}`)
      await store.createDevices(names.map((dn, i) => newDevice(pk, dn, instances[i % 3] as string)))
      let step = 0
      for (const o of ops) {
        const dn = names[o.i] as string
        step++
        if (o.kind === 'connect') await store.connected(pk, dn, at(o.inst, `s${step}`))
        else if (o.kind === 'disconnect') {
          const d = await store.getDevice(pk, dn)
          if (d?.online != null) await store.disconnected(pk, dn, d.online.session, step)
        } else if (o.kind === 'disable') await store.disableDevice(pk, dn, o.inst)
        else if (o.kind === 'enable') await store.enableDevice(pk, dn, o.inst)
        else if (o.kind === 'move') await store.moveDevice(pk, dn, { from: o.from, to: o.to, jobId: `j${step}` })
        else if (o.kind === 'wait') await store.setCandidates(pk, dn, { from: o.from, candidates: [{ region: 'r2', instanceId: 'b' }, { region: 'r3', instanceId: 'c' }], jobId: `j${step}` })
        else if (o.kind === 'place') await store.place(pk, dn, { instanceId: o.inst, region: 'r', fallback: false, address: null, at: step })
        else if (o.kind === 'delete') await store.deleteDevice(pk, dn)
        else await store.createDevices([newDevice(pk, dn, o.inst)])
      }
      const devices = await records(store, pk, names)
      const listed = await allDevices(store, { productKey: pk })
      if (JSON.stringify(listed.map(d => d.deviceName)) !== JSON.stringify(devices.map(d => d.deviceName))) return false
      for (const inst of instances) {
        if (JSON.stringify(await store.countDevices(pk, inst)) !== JSON.stringify(recount(devices, inst))) return false
        const here = (await allDevices(store, { productKey: pk, instanceId: inst })).map(d => d.deviceName)
        if (JSON.stringify(here) !== JSON.stringify(devices.filter(d => homesOf(d).includes(inst)).map(d => d.deviceName))) return false
        for (const status of DEVICE_STATUSES) {
          const expected = devices.filter(d => homesOf(d).includes(inst) && deviceStatus(d) === status as DeviceStatus).map(d => d.deviceName)
          const got = (await store.listDevices({ productKey: pk, instanceId: inst, status, limit: 100 })).devices.map(d => d.deviceName)
          if (JSON.stringify(got) !== JSON.stringify(expected)) return false
        }
        const moved = devices.filter(d => d.lastJobId !== null && homesOf(d)[0] === inst).length
        if (await store.countMarked(pk, inst, 'moved') !== moved) return false
        const away = devices.filter(d => d.originInstanceId === inst && !homesOf(d).includes(inst)).length
        if (await store.countMarked(pk, inst, 'away') !== away) return false
      }
      return true
    }), { numRuns: 40 })
    t.pass('40 random sequences')
  })
}
