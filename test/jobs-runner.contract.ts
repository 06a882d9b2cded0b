// The job runner's behaviour, run against both registry backends (test/jobs-runner-*.test.ts).
import t from 'tap'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { retryJob } from '../bootstrap/jobs/retry.js'
import { countRecords, recordsByName, recordsInJobOrder } from '../bootstrap/jobs/counts.js'
import { ApiError } from '../bootstrap/http/http-error.js'
import { newDevice } from '../shared/device.js'
import type { Store } from '../shared/store/store.js'
import type { Job, MoveEvent } from '../shared/types.js'
import { job, productWithData as product } from './helpers/fixtures.js'
import { eventually } from './helpers/wait.js'

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`)

/** Runs every unfinished job once, with a runner of its own. */
async function runOnce (store: Store, options: Partial<ConstructorParameters<typeof JobRunner>[0]> = {}): Promise<void> {
  const runner = new JobRunner({ store, pollMs: 60_000, ...options })
  runner.start()
  await runner.idle()
  await runner.close()
}

export function runnerContract (name: string, open: () => Promise<Store>): void {
  t.test(`job runner on the ${name} store`, async t => {
    const store = await open()
    t.teardown(() => store.close())

    t.test('a job moves its devices: statuses, counts, records, events, rules 2-5 and 9', async t => {
      const pk = 'pkLife'
      await store.createProduct(product(pk, 'a'))
      await store.createDevices([newDevice(pk, 'online1', 'a'), newDevice(pk, 'offline1', 'a'), newDevice(pk, 'elsewhere', 'c')])
      await store.setTags(pk, 'offline1', { floor: '3' })
      await store.connected(pk, 'online1', { instanceId: 'a', nodeId: 'n1', session: 's1', address: null, at: 1 })
      await store.setProperties(pk, 'online1', 'a', '{"temp":21}')
      const events: MoveEvent[] = []
      const sub = await store.consumeMoves('a', 'jobs-test-life', async e => { if (e.productKey === pk) events.push(e) })
      t.teardown(() => sub.close())

      const j = job(pk, ['online1', 'offline1', 'missing1', 'elsewhere'])
      await store.createJob(j)
      t.equal((await store.getJob(j.id))?.status, 'initializing', 'a stored job waits for a runner')
      await runOnce(store)

      const done = await store.getJob(j.id)
      t.equal(done?.status, 'distributed', 'distributed means the job ran, though two devices failed')
      t.same(countRecords(j, await store.getRecords(j.id)), { total: 4, succeeded: 2, failed: 2, pending: 0 })
      t.same([done?.total, done?.succeeded, done?.failed], [4, 2, 2], 'the stored counts agree with the records')
      const records = recordsInJobOrder(j, await store.getRecords(j.id))
      t.same(records.map(r => [r.deviceName, r.code]), [
        ['online1', 'success'], ['offline1', 'success'], ['missing1', 'device_not_found'], ['elsewhere', 'not_at_source']
      ])
      t.equal(records[0]?.message, 'moved to b', 'an online device: the old broker completes the message')
      t.equal(records[1]?.message, 'moved to b; offline')
      t.match(records[2]?.message, /does not exist/)
      t.match(records[3]?.message, /not at instance a/)

      const [online, offline, elsewhere] = await store.getDevices(pk, ['online1', 'offline1', 'elsewhere'])
      t.equal(online?.instanceId, 'b', 'docs/distribution.md, "Rule 2": assignment moved')
      t.equal(offline?.instanceId, 'b')
      t.same(offline?.tags, {}, 'docs/distribution.md, "Rule 4": tags cleared')
      t.equal(online?.runtime.b?.active, false, 'docs/distribution.md, "Rule 5": inactive at the destination')
      t.equal(online?.runtime.a?.properties, '{"temp":21}', 'docs/distribution.md, "Rule 4": runtime data stays at the source')
      t.equal(elsewhere?.instanceId, 'c', 'a device elsewhere is not touched')

      const copy = await store.getProduct(pk, 'b')
      t.match(copy, { readOnly: true, sourceInstanceId: 'a', name: 'Lamp', parsingScript: 'return 1', tsl: { properties: [] } }, 'docs/distribution.md, "Rule 3": read-only snapshot at the destination')
      t.equal((await store.getProduct(pk, 'a'))?.readOnly, false, 'the source keeps its product')

      await until(() => events.length >= 2, 10_000, 'a move event for each of the two devices')
      t.same(events.map(e => e.deviceName).sort(), ['offline1', 'online1'], 'one move event per moved device')
      t.same(events[0], { jobId: j.id, productKey: pk, deviceName: events[0]?.deviceName, fromInstanceId: 'a', toInstanceId: 'b' })
    })

    t.test('a product-only job copies the product alone', async t => {
      await store.createProduct(product('pkOnly', 'a'))
      const j = job('pkOnly', [])
      await store.createJob(j)
      await runOnce(store)
      t.match(await store.getJob(j.id), { status: 'distributed', total: 0, succeeded: 0, failed: 0 })
      t.match(await store.getProduct('pkOnly', 'b'), { readOnly: true, sourceInstanceId: 'a' })
    })

    t.test('the snapshot is taken once: later source edits do not reach it; A -> B -> A keeps the original', async t => {
      const pk = 'pkSnap'
      await store.createProduct(product(pk, 'a'))
      await store.createDevices([newDevice(pk, 'dev1', 'a')])
      await store.setProperties(pk, 'dev1', 'a', '{"v":1}')
      const there = job(pk, ['dev1'])
      await store.createJob(there)
      await runOnce(store)
      await store.updateProduct({ ...product(pk, 'a'), name: 'Lamp v2', updatedAt: 2 })
      const back = job(pk, ['dev1'], { sourceInstanceId: 'b', targetInstanceId: 'a' })
      await store.createJob(back)
      await runOnce(store)
      t.equal((await store.getJob(back.id))?.succeeded, 1)
      t.equal((await store.getProduct(pk, 'b'))?.name, 'Lamp', 'the copy at b kept its snapshot')
      t.match(await store.getProduct(pk, 'a'), { name: 'Lamp v2', readOnly: false, sourceInstanceId: null }, 'a keeps its own original')
      const d = await store.getDevice(pk, 'dev1')
      t.equal(d?.instanceId, 'a', 'docs/distribution.md, "Rule 1": back home')
      t.equal(d?.runtime.a?.properties, '{"v":1}', 'docs/distribution.md, "Rule 4": runtime data is there again')
      const again = job(pk, ['dev1'], { targetInstanceId: 'c' })
      await store.createJob(again)
      await runOnce(store)
      t.equal((await store.getDevice(pk, 'dev1'))?.instanceId, 'c', 'and on again: A -> B -> A -> C')
    })

    t.test('a job whose source product is gone fails; retry runs it once the product is back', async t => {
      const pk = 'pkGone'
      await store.createDevices([newDevice(pk, 'dev1', 'a')])
      const j = job(pk, ['dev1'])
      await store.createJob(j)
      await runOnce(store)
      t.match(await store.getJob(j.id), { status: 'failed', error: /product pkGone no longer exists at instance a/ })
      t.notOk((await store.unfinishedJobs()).includes(j.id))
      await store.createProduct(product(pk, 'a'))
      const retried = await retryJob(store, await store.getJob(j.id) as Job, Date.now())
      t.equal(retried.status, 'distributing')
      await runOnce(store)
      t.match(await store.getJob(j.id), { status: 'distributed', succeeded: 1, error: null })
    })

    t.test('retry of a distributed job re-runs its failed devices only; with none failed it is refused', async t => {
      const pk = 'pkRetry'
      await store.createProduct(product(pk, 'a'))
      await store.createDevices([newDevice(pk, 'dev1', 'a')])
      const j = job(pk, ['dev1', 'late1'])
      await store.createJob(j)
      await runOnce(store)
      t.match(await store.getJob(j.id), { status: 'distributed', succeeded: 1, failed: 1 })
      await store.createDevices([newDevice(pk, 'late1', 'a')])
      const retried = await retryJob(store, await store.getJob(j.id) as Job, Date.now())
      t.match(retried, { status: 'distributing', succeeded: 1, failed: 0 })
      t.same(countRecords(j, await store.getRecords(j.id)), { total: 2, succeeded: 1, failed: 0, pending: 1 }, 'the failed device is pending again')
      await runOnce(store)
      t.match(await store.getJob(j.id), { status: 'distributed', succeeded: 2, failed: 0 })
      t.equal((await store.getDevice(pk, 'late1'))?.instanceId, 'b')
      const err = await retryJob(store, await store.getJob(j.id) as Job, Date.now()).catch((e: unknown) => e)
      t.ok(err instanceof ApiError && err.status === 409, 'nothing to retry: 409')
    })

    t.test('a resumed job finishes what a dead runner left, and re-sends events a crash may have lost', async t => {
      const pk = 'pkResume'
      const all = names('r', 30)
      await store.createProduct(product(pk, 'a'))
      await store.createDevices(all.map(dn => newDevice(pk, dn, 'a')))
      await store.connected(pk, 'r00003', { instanceId: 'a', nodeId: 'n1', session: 's1', address: null, at: 1 })
      const j = job(pk, all, { status: 'distributing' })
      await store.createJob(j)
      // The dead runner got this far: moved r00000-r00009, recorded r00000-r00004 (r00003 was online), published
      // nothing but r00000's event, which a broker has completed since. Records in the form written before
      // stages were stored (code and message only): the resumed runner reads their stage off them.
      for (const dn of all.slice(0, 10)) await store.moveDevice(pk, dn, { from: 'a', to: 'b', jobId: j.id })
      const message = (dn: string): string => dn === 'r00003' ? 'moved to b' : dn === 'r00000' ? 'moved to b; online; notified; answered; disconnected' : 'moved to b; offline'
      await store.putRecords(j.id, all.slice(0, 5).map(dn => ({ productKey: pk, deviceName: dn, code: 'success', message: message(dn) })))
      t.ok(await store.leaseJob(j.id, 'dead-runner', 1000), 'the dead runner held the lease')
      const events: string[] = []
      const sub = await store.consumeMoves('a', 'jobs-test-resume', async e => { if (e.productKey === pk) events.push(e.deviceName) })
      t.teardown(() => sub.close())
      await runOnce(store, { owner: 'live-runner' })
      t.equal((await store.getJob(j.id))?.status, 'distributing', 'nothing happens while the dead runner\'s lease lasts')
      await new Promise(resolve => setTimeout(resolve, 1050))
      await runOnce(store, { owner: 'live-runner', batchSize: 7 })
      t.match(await store.getJob(j.id), { status: 'distributed', succeeded: 30, failed: 0 })
      const devices = await store.getDevices(pk, all)
      t.ok(devices.every(d => d?.instanceId === 'b' && d.lastJobId === j.id), 'every device has its one assignment, at b')
      await until(() => events.length >= 29, 10_000, 'a move event for every device whose event may have been lost')
      t.same([...new Set(events)].sort(), all.slice(1),
        'an event for every device not completed by a broker: those recorded before their event (online or offline), and all not recorded')
      t.notOk(events.includes('r00000'), 'a device whose old broker completed its record is not sent again')
      const records = recordsByName(j, await store.getRecords(j.id))
      t.equal(records.get('r00000')?.message, 'moved to b; online; notified; answered; disconnected', 'an old-form record reads as it was written')
      t.equal(records.get('r00001')?.message, 'moved to b; offline')
      t.equal(records.get('r00010')?.message, 'moved to b; offline', 'a device moved by the resumed runner')
      const resumed: string[] = []
      const again = await store.consumeMoves('a', 'jobs-test-resume-again', async e => { if (e.productKey === pk) resumed.push(e.deviceName) })
      t.teardown(() => again.close())
      await store.updateJob({ ...(await store.getJob(j.id) as Job), status: 'distributing' })
      await runOnce(store, { owner: 'second-live-runner' })
      t.match(await store.getJob(j.id), { status: 'distributed', succeeded: 30, failed: 0 })
      await new Promise(resolve => setTimeout(resolve, 100))
      t.same(resumed, [], 'run again, the job publishes nothing: every event is marked published')
    })

    t.test('a runner whose lease was taken stops at the next batch: one job never has two runners', async t => {
      const pk = 'pkSteal'
      const all = names('s', 1000)
      await store.createProduct(product(pk, 'a'))
      await store.createDevices(all.map(dn => newDevice(pk, dn, 'a')))
      const j = job(pk, all)
      await store.createJob(j)
      const first = new JobRunner({ store, pollMs: 60_000, batchSize: 20, owner: 'first' })
      first.start()
      await eventually(async () => ((await store.getJob(j.id))?.succeeded ?? 0) > 0, 'the first runner to record a success', { ms: 10_000, every: 0 })
      // As if the first runner had stalled past its lease and another took the job.
      // (The runner renews as it goes: free the lease and take it until the take comes first.)
      await eventually(async () => {
        await store.releaseJob(j.id, 'first')
        return await store.leaseJob(j.id, 'thief', 60_000)
      }, 'the thief to take the lease', { ms: 10_000, every: 0 })
      await first.idle()
      const left = await store.getJob(j.id)
      t.equal(left?.status, 'distributing', 'the first runner let go without finishing')
      t.ok((left?.succeeded ?? 0) < all.length)
      t.notOk(await store.leaseJob(j.id, 'probe', 1), 'and left the thief\'s lease alone')
      await first.close()
      await store.releaseJob(j.id, 'thief')
      await runOnce(store, { owner: 'second' })
      t.match(await store.getJob(j.id), { status: 'distributed', succeeded: all.length })
    })

    t.test('close() lets the batch end and frees the lease; another runner completes the job', async t => {
      const pk = 'pkClose'
      const all = names('c', 2000)
      await store.createProduct(product(pk, 'a'))
      for (let i = 0; i < all.length; i += 500) await store.createDevices(all.slice(i, i + 500).map(dn => newDevice(pk, dn, 'a')))
      const j = job(pk, all)
      await store.createJob(j)
      const first = new JobRunner({ store, pollMs: 60_000, batchSize: 20, owner: 'first' })
      first.start()
      // Polled between the runner's batches (each yields to the event loop), so the close lands mid-job.
      await eventually(async () => ((await store.getJob(j.id))?.succeeded ?? 0) > 0, 'the first runner to record a success', { ms: 10_000, every: 0 })
      await first.close()
      const halfway = await store.getJob(j.id)
      t.equal(halfway?.status, 'distributing')
      t.ok((halfway?.succeeded ?? 0) < all.length, 'closed mid-job')
      t.ok(await store.leaseJob(j.id, 'probe', 1), 'the lease is free at once')
      await store.releaseJob(j.id, 'probe')
      await runOnce(store, { owner: 'second' })
      t.match(await store.getJob(j.id), { status: 'distributed', succeeded: all.length, failed: 0 })
      const devices = await store.getDevices(pk, all)
      t.ok(devices.every(d => d?.instanceId === 'b'), 'every device moved once, to b')
      t.same(countRecords(j, await store.getRecords(j.id)).pending, 0)
    })
  })
}

export async function until (check: () => boolean, timeoutMs = 10_000, what = 'a condition of this test'): Promise<void> {
  await eventually(check, what, { ms: timeoutMs, every: 5 })
}
