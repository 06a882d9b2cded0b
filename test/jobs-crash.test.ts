// docs/operations.md, "Redis outage": a sidecar killed mid-job (kill -9) and started again finishes the job with
// every device assigned exactly once. Real processes over the real Redis.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { countRecords, recordsInJobOrder } from '../bootstrap/jobs/counts.js'
import { newDevice } from '../shared/device.js'
import { openRedisStore } from '../shared/store/redis.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { job, productWithData as product } from './helpers/fixtures.js'
import { untilAsync } from './helpers/wait.js'
import { allDeviceNames } from '../shared/store/device-pages.js'

const keyPrefix = uniquePrefix('jobs-crash')
t.teardown(() => dropPrefix(keyPrefix))

const DEVICES = 4000

/** A process that runs the job runner alone over the test's Redis prefix, slowed to small batches so it can be caught mid-job. */
function startRunner (): ChildProcess {
  const script = `
    import { openRedisStore } from './shared/store/redis.ts'
    import { JobRunner } from './bootstrap/jobs/runner.ts'
    const store = await openRedisStore({ url: process.env.REDIS_URL, keyPrefix: process.env.KEY_PREFIX })
    new JobRunner({ store, pollMs: 100, leaseMs: 1000, batchSize: 20 }).start()
    process.stdout.write('started\\n')`
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, REDIS_URL, KEY_PREFIX: keyPrefix },
    stdio: ['ignore', 'pipe', 'inherit']
  })
}

async function kill9 (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

t.test('a runner killed mid-job twice, then started again, finishes with every device assigned exactly once', async t => {
  const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
  t.teardown(() => store.close())
  const pk = 'pkCrash'
  const names = Array.from({ length: DEVICES }, (_, i) => `dev${String(i).padStart(5, '0')}`)
  await store.createProduct(product(pk, 'a'))
  for (let i = 0; i < names.length; i += 1000) await store.createDevices(names.slice(i, i + 1000).map(dn => newDevice(pk, dn, 'a')))
  // Every tenth device is online at instance a: its move event must reach a's brokers whatever the kills hit.
  const online = names.filter((_, i) => i % 10 === 0)
  await Promise.all(online.map(dn => store.connected(pk, dn, { instanceId: 'a', nodeId: 'node-a1', session: `s-${dn}`, address: null, at: 1 })))
  const events = new Map<string, number>()
  const sub = await store.consumeMoves('a', 'crash-test', async e => { events.set(e.deviceName, (events.get(e.deviceName) ?? 0) + 1) })
  t.teardown(() => sub.close())
  const j = job(pk, names)
  await store.createJob(j)
  const children: ChildProcess[] = []
  t.teardown(() => Promise.all(children.map(kill9)))

  const succeeded = async (): Promise<number> => (await store.getJob(j.id))?.succeeded ?? 0
  for (const [round, at] of [[1, 1000], [2, 2000]] as const) {
    const child = startRunner()
    children.push(child)
    await untilAsync(async () => await succeeded() >= at, 20_000, `${at} devices succeeded`)
    await kill9(child)
    const job = await store.getJob(j.id)
    t.equal(job?.status, 'distributing', `kill ${round}: the job is unfinished`)
    t.ok((job?.succeeded ?? 0) < DEVICES, `kill ${round}: killed mid-job (${job?.succeeded ?? 0} of ${DEVICES} recorded)`)
  }

  const final = startRunner()
  children.push(final)
  await untilAsync(async () => (await store.getJob(j.id))?.status === 'distributed', 20_000, 'the job to end distributed')
  await kill9(final)

  t.match(await store.getJob(j.id), { status: 'distributed', total: DEVICES, succeeded: DEVICES, failed: 0 })
  const records = recordsInJobOrder(j, await store.getRecords(j.id))
  t.same(countRecords(j, records), { total: DEVICES, succeeded: DEVICES, failed: 0, pending: 0 })
  const onlineSet = new Set(online)
  t.ok(records.every(r => r.code === 'success'), 'one success record per device')
  // An online device's record is left for its broker to complete. After a kill between a move and its
  // record, the resumed job knows the move but not whether the device was online: it says no more.
  t.ok(records.every(r => r.message === 'moved to b' || (!onlineSet.has(r.deviceName) && r.message === 'moved to b; offline')),
    'offline devices are recorded as offline, online ones are left for the broker to complete')
  const unknown = records.filter(r => !onlineSet.has(r.deviceName) && r.message === 'moved to b').length
  t.ok(unknown <= 2 * 20, `at most one batch per kill lost the online/offline detail (${unknown})`)
  const devices = []
  for (let i = 0; i < names.length; i += 1000) devices.push(...await store.getDevices(pk, names.slice(i, i + 1000)))
  t.equal(devices.filter(d => d?.instanceId === 'b' && d.lastJobId === j.id && d.candidates === null).length, DEVICES, 'every device is assigned to b, and only to b')
  t.equal((await allDeviceNames(store, pk)).length, DEVICES, 'no device was lost or duplicated')
  // The registry said these were online at a: a's brokers must hear of every one of them (docs/protocol.md, "Notify and reply").
  const mayBeOnline = records.filter(r => r.message === 'moved to b').map(r => r.deviceName)
  await untilAsync(async () => mayBeOnline.every(dn => events.has(dn)), 10_000).catch(() => {})
  t.same(mayBeOnline.filter(dn => !events.has(dn)), [], 'every device that may be online got its move event')
  t.ok(online.every(dn => events.has(dn)), 'including every device that was online')
})
