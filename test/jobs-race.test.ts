// Two jobs on the same device at once: the device moved by the other job between this job's
// validation and its atomic move must be recorded not_at_source, with no move event (the
// `not-at-source` branch of bootstrap/jobs/steps.ts), never as a second success.
import t from 'tap'
import { deviceSteps } from '../bootstrap/jobs/steps.js'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { newDevice } from '../shared/device.js'
import { RECORD_CODES } from '../shared/records.js'
import { MemoryStore } from '../shared/store/memory.js'
import { openRedisStore } from '../shared/store/redis.js'
import type { Store } from '../shared/store/store.js'
import type { Job, JobRecord, DeviceMoved } from '../shared/types.js'
import { job, productWithData as product } from './helpers/fixtures.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { eventually } from './helpers/wait.js'

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `race${String(i).padStart(4, '0')}`)

async function recordsOf (store: Store, j: Job): Promise<Map<string, JobRecord>> {
  return new Map((await store.getRecords(j.id)).map(r => [r.deviceName, r]))
}

function raceTests (name: string, open: () => Promise<Store>): void {
  t.test(`${name} store`, async t => {
    const store = await open()
    t.teardown(() => store.close())

    t.test('validated by both jobs, moved by one first: one success, one not_at_source, one move event', async t => {
      const pk = 'pkRace1'
      await store.createProduct(product(pk, 'a'))
      await store.createDevices([newDevice(pk, 'dev', 'a')])
      const events: DeviceMoved[] = []
      const sub = await store.consumeMoves('a', 'race-steps', async e => { if (e.kind !== 'disconnect' && e.productKey === pk) events.push(e) })
      t.teardown(() => sub.close())
      const toB = job(pk, ['dev'], { targetInstanceId: 'b' })
      const toC = job(pk, ['dev'], { targetInstanceId: 'c' })
      for (const j of [toB, toC]) await store.createJob(j)
      const batch = (j: Job) => ({ job: j, store, items: [{ deviceName: 'dev', prior: undefined, device: undefined, result: undefined, emit: false }] })
      const [validate, ...rest] = deviceSteps
      const first = batch(toB)
      const second = batch(toC)
      // Both validations see the device at the source; then each job runs its move, record and event.
      await validate!(first)
      await validate!(second)
      for (const step of rest) await step(first)
      for (const step of rest) await step(second)

      t.equal((await recordsOf(store, toB)).get('dev')?.code, RECORD_CODES.success, 'the job that moved first: success')
      t.match((await recordsOf(store, toC)).get('dev'), { code: RECORD_CODES.notAtSource, message: 'device dev is not at instance a' }, 'the other: not_at_source')
      t.equal((await store.getDevice(pk, 'dev'))?.instanceId, 'b', 'the device is where the first job put it')
      await eventually(() => events.length >= 1, 'the move event of the job that moved the device')
      // A round trip on the same stream: an event of the second job would have arrived before this one.
      await store.publishMoves([{ jobId: 'marker', productKey: pk, deviceName: 'marker', fromInstanceId: 'a', toInstanceId: 'b' }])
      await eventually(() => events.some(e => e.jobId === 'marker'), 'the marker event')
      t.same(events.filter(e => e.jobId !== 'marker').map(e => e.jobId), [toB.id], 'one move event, from the job that moved it')
    })

    t.test('two runners, two jobs over the same 400 devices at once: each device moved once, recorded once as success', async t => {
      const pk = 'pkRace2'
      const all = names(400)
      await store.createProduct(product(pk, 'a'))
      await store.createDevices(all.map(dn => newDevice(pk, dn, 'a')))
      const events: DeviceMoved[] = []
      const sub = await store.consumeMoves('a', 'race-runners', async e => { if (e.kind !== 'disconnect' && e.productKey === pk) events.push(e) })
      t.teardown(() => sub.close())
      // The same devices in the same order: the two runners' batches run side by side.
      const toB = job(pk, all, { targetInstanceId: 'b' })
      const toC = job(pk, all, { targetInstanceId: 'c' })
      for (const j of [toB, toC]) await store.createJob(j)
      const runners = [toB, toC].map((_, i) => new JobRunner({ store, pollMs: 20, batchSize: 7, owner: `racer-${i}` }))
      t.teardown(() => Promise.all(runners.map(r => r.close())))
      for (const r of runners) r.start()
      await eventually(async () => (await store.getJob(toB.id))?.status === 'distributed' && (await store.getJob(toC.id))?.status === 'distributed',
        'both jobs to end distributed', { ms: 30_000, every: 50 })

      const [byB, byC] = [await recordsOf(store, toB), await recordsOf(store, toC)]
      const devices = await store.getDevices(pk, all)
      const wrong: string[] = []
      all.forEach((dn, i) => {
        const codes = [byB.get(dn)?.code, byC.get(dn)?.code]
        const winner = codes[0] === RECORD_CODES.success ? 'b' : 'c'
        if (codes.filter(c => c === RECORD_CODES.success).length !== 1 || !codes.includes(RECORD_CODES.notAtSource)) wrong.push(`${dn}: ${codes.join(', ')}`)
        else if (devices[i]?.instanceId !== winner) wrong.push(`${dn}: at ${String(devices[i]?.instanceId)}, recorded moved to ${winner}`)
      })
      t.same(wrong, [], 'every device: one success, one not_at_source, and it is where the success says')
      await eventually(() => events.length >= all.length, `${all.length} move events`, { ms: 10_000 })
      await store.publishMoves([{ jobId: 'marker', productKey: pk, deviceName: 'marker', fromInstanceId: 'a', toInstanceId: 'b' }])
      await eventually(() => events.some(e => e.jobId === 'marker'), 'the marker event')
      const moved = events.filter(e => e.jobId !== 'marker')
      t.equal(moved.length, all.length, 'one move event per device')
      t.equal(new Set(moved.map(e => e.deviceName)).size, all.length, 'no device announced twice')
    })
  })
}

raceTests('memory', async () => new MemoryStore())
const keyPrefix = uniquePrefix('race')
t.teardown(() => dropPrefix(keyPrefix))
raceTests('Redis', () => openRedisStore({ url: REDIS_URL, keyPrefix }))
