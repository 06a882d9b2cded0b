// What a distribution job does, as named step lists (like Aedes' connectActions): the job's own steps,
// then the same device steps for each batch of devices. Every step is idempotent, so a runner that
// resumes a job after a crash simply runs the lists again.
import { setImmediate } from 'node:timers/promises'
import type { Topology } from '../../shared/config.js'
import { silentLogger, type Logger } from '../../shared/log.js'
import { awaitsAnnouncement, moveRecord, RECORD_CODES } from '../../shared/records.js'
import type { MoveOutcome, Store } from '../../shared/store/store.js'
import { appendEvents } from '../../shared/timeline.js'
import type { Device, Job, JobRecord } from '../../shared/types.js'
import { countRecords, recordsByName, withCounts } from './counts.js'
import { destinationInstances, moveAll, movedByThisJob } from './destinations.js'
import { Pacer } from './pace.js'

/** Everything a running job needs. */
export interface JobRun {
  job: Job
  store: Store
  log: Logger
  topology: Topology | null
  batchSize: number
  /** True once the runner must let go (closing, or the lease was lost): work ends at a batch boundary. */
  stopped: () => boolean
  /** Renews the lease; false when another runner holds it now. */
  renew: () => Promise<boolean>
}

/** The job cannot run at all (its source product is gone, ...): it ends `failed` with this message. */
export class JobFailure extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'JobFailure'
  }
}

/** `stop` ends this attempt without finishing the job (another runner, or a later attempt, resumes it). */
type StepResult = 'next' | 'stop'
type JobStep = (run: JobRun) => Promise<StepResult>

export const jobSteps: JobStep[] = [checkTopology, checkSourceProduct, snapshotProduct, startDistributing, distributeDevices, finish]

/** The config may have changed between the job's creation and this run. */
async function checkTopology ({ job, topology }: JobRun): Promise<StepResult> {
  if (topology === null) return 'next'
  for (const id of [job.sourceInstanceId, ...destinationInstances(job)]) {
    if (topology.instance(id) === undefined) throw new JobFailure(`instance ${id} is no longer configured`)
  }
  // docs/distribution.md, "Rule 10": the destination instance must still be the destination account's.
  if (job.targetAccountId !== null && job.targetInstanceId !== null && topology.instance(job.targetInstanceId)?.account !== job.targetAccountId) {
    throw new JobFailure(`instance ${job.targetInstanceId} no longer belongs to account ${job.targetAccountId}`)
  }
  return 'next'
}

async function checkSourceProduct ({ job, store }: JobRun): Promise<StepResult> {
  if (await store.getProduct(job.productKey, job.sourceInstanceId) === null) {
    throw new JobFailure(`product ${job.productKey} no longer exists at instance ${job.sourceInstanceId}`)
  }
  return 'next'
}

/**
 * docs/distribution.md, "Rule 3": each destination gets a read-only snapshot of the product, once. When it already has
 * a product with this key (its own original after A -> B -> A, or an earlier snapshot) that one stays.
 * Product-only jobs (docs/distribution.md, "Rule 7") are this step alone. Under nearest access every target gets it now,
 * before any device can be placed there.
 */
async function snapshotProduct ({ job, store }: JobRun): Promise<StepResult> {
  const targets = destinationInstances(job).filter(id => id !== job.sourceInstanceId)
  if (targets.length === 0) return 'next'
  const source = await store.getProduct(job.productKey, job.sourceInstanceId)
  if (source === null) throw new JobFailure(`product ${job.productKey} no longer exists at instance ${job.sourceInstanceId}`)
  const now = Date.now()
  for (const target of targets) {
    await store.createProduct({ ...source, instanceId: target, readOnly: true, sourceInstanceId: job.sourceInstanceId, createdAt: now, updatedAt: now })
  }
  return 'next'
}

async function startDistributing (run: JobRun): Promise<StepResult> {
  if (run.job.status !== 'distributing') {
    run.job = { ...run.job, status: 'distributing', error: null, updatedAt: Date.now() }
    await run.store.updateJob(run.job)
  }
  return 'next'
}

async function distributeDevices (run: JobRun): Promise<StepResult> {
  const { job, store } = run
  const prior = recordsByName(job, await store.getRecords(job.id))
  const todo = job.deviceNames.filter(name => needsWork(prior.get(name)))
  // docs/distribution.md, "Rate, waves and settling": without a pace, slices are whole batches and nothing waits.
  const backlogs = store.moveBacklogs?.bind(store)
  const pacer = new Pacer(job.pace, backlogs === undefined ? undefined : () => backlogs(job.sourceInstanceId))
  const [first, ...middle] = deviceSteps as [DeviceStep, ...DeviceStep[]]
  const last = middle.pop() as DeviceStep
  // Each registry round trip of a batch waits its turn behind the sidecar's other work (a burst of
  // bootstraps from the devices already notified), so the batches' round trips are what delays the
  // last notify. Calls that do not depend on each other share one: the first step only reads, so it
  // goes with the lease check (nothing is written before the lease is known held), and unpaced, the
  // next batch's read and the last writes of this one (announcement marks, the job's counts) go out
  // while the next batch moves. A batch's moves still wait until the batch before it has published
  // its events, and a paced job (rate, waves) runs its slices strictly one after the other.
  const overlap = !pacer.paced
  const open = (from: number, size: number): Promise<Opened> => {
    const batch: DeviceBatch = {
      job,
      store,
      log: run.log,
      pace: count => pacer.beforeEvents(count),
      items: todo.slice(from, from + size).map(deviceName => ({ deviceName, prior: prior.get(deviceName), device: undefined, result: undefined, emit: false }))
    }
    return Promise.all([run.renew(), first(batch)]).then(([held]) => ({ held, batch, size }))
  }
  let opened: Promise<Opened> | null = null
  let tail: Promise<void> = Promise.resolve()
  try {
    for (let i = 0; i < todo.length;) {
      // Let the sidecar's other work in between batches (the memory store never waits on I/O).
      await setImmediate()
      if (run.stopped()) return 'stop'
      const { held, batch, size } = await (opened ?? open(i, pacer.sliceSize(run.batchSize)))
      opened = null
      if (!held) return 'stop'
      for (const step of middle) await step(batch)
      for (const item of batch.items) if (item.result !== undefined) prior.set(item.deviceName, item.result)
      i += size
      if (overlap && i < todo.length) opened = handled(open(i, pacer.sliceSize(run.batchSize)))
      const counts = { ...withCounts(run.job, countRecords(job, prior.values())), updatedAt: Date.now() }
      run.job = counts
      // After the tail of the batch before: the job's counts are written in the order they were taken.
      const before = tail
      tail = handled((async () => {
        await before
        await Promise.all([last(batch), store.updateJob(counts)])
      })())
      if (!overlap) await tail
      if (!(await pacer.afterSlice(size, i < todo.length, run.stopped))) return 'stop'
    }
    await tail
    return 'next'
  } finally {
    // Nothing of this attempt is left running once it ends (a prefetched read only reads).
    await tail.catch(() => {})
    await opened?.catch(() => {})
  }
}

/** A batch opened: read, and the lease checked. */
interface Opened {
  held: boolean
  batch: DeviceBatch
  size: number
}

/** The same promise, marked as handled until it is awaited (a rejection before then must not go unhandled). */
function handled<T> (p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

async function finish (run: JobRun): Promise<StepResult> {
  if (run.stopped()) return 'stop'
  const counts = countRecords(run.job, await run.store.getRecords(run.job.id))
  // docs/distribution.md, "Rule 9": `distributed` means the job ran; the records say what happened to each device.
  run.job = { ...withCounts(run.job, counts), status: 'distributed', error: null, updatedAt: Date.now() }
  await run.store.updateJob(run.job)
  return 'next'
}

/**
 * A device still needs work unless its record is final. A moved device whose event the runner has not
 * published yet (an attempt ended between writing its record and publishing: a crash, a registry
 * outage) gets its move event now: online or not, an old broker may still hold it.
 */
function needsWork (record: JobRecord | undefined): boolean {
  if (record === undefined || record.code === RECORD_CODES.pending) return true
  return awaitsAnnouncement(record)
}

// Device steps: each works on a whole batch, so every registry call is one pipelined round.

interface DeviceWork {
  deviceName: string
  /** The record before this run, if any. */
  prior: JobRecord | undefined
  /** As read by `validate`: null when the device does not exist. */
  device: Device | null | undefined
  /** The record to write; undefined keeps the prior one. */
  result: JobRecord | undefined
  /** Publish a move event for this device. */
  emit: boolean
  /** This run moved its assignment (not an earlier attempt): its timeline gets the move. */
  movedNow?: true
}

interface DeviceBatch {
  job: Job
  store: Store
  /** Where a lost timeline write is noted (debug); silent when absent. */
  log?: Logger
  items: DeviceWork[]
  /** Waits until this many move events may go out under the job's rate (pace.ts); absent: at once. */
  pace?: (events: number) => Promise<void>
}

type DeviceStep = (batch: DeviceBatch) => Promise<void>

/** Steps run in this order; the steps given to `together` run side by side (they write different keys). */
export const deviceSteps: DeviceStep[] = [validate, moveAssignment, together(noteMoves, recordResult), emitMove, markAnnounced]

function together (...steps: DeviceStep[]): DeviceStep {
  return async batch => { await Promise.all(steps.map(step => step(batch))) }
}

const record = (job: Job, deviceName: string, code: string, message: string): JobRecord =>
  ({ productKey: job.productKey, deviceName, code, message })

/** docs/distribution.md, "Rule 9": a device that does not exist, or is not at the source, fails alone. */
async function validate ({ job, store, items }: DeviceBatch): Promise<void> {
  const devices = await store.getDevices(job.productKey, items.map(i => i.deviceName))
  items.forEach((item, i) => {
    const device = devices[i] ?? null
    item.device = device
    if (item.prior?.code === RECORD_CODES.success) return // only its move event may be missing
    if (device === null) {
      item.result = record(job, item.deviceName, RECORD_CODES.deviceNotFound, `device ${item.deviceName} does not exist in product ${job.productKey}`)
    } else if (device.instanceId !== job.sourceInstanceId && !movedByThisJob(device, job)) {
      item.result = record(job, item.deviceName, RECORD_CODES.notAtSource, `device ${item.deviceName} is not at instance ${job.sourceInstanceId}`)
    }
  })
}

/**
 * docs/distribution.md, "Rule 2": copy the certificate and move the assignment in one atomic step, which also clears
 * tags (rule 4) and marks the device inactive at the destination (rule 5). `store.moveDevice` is that
 * step; it is idempotent for one job id, and a concurrent move of the same device lets one win. Under
 * nearest access (rule 7) the step leaves the device waiting among the targets instead; its first
 * bootstrap makes the rest of the move (bootstrap/nearest-placement.ts).
 */
async function moveAssignment ({ job, store, items }: DeviceBatch): Promise<void> {
  if (destinationInstances(job).length === 0) return
  const to = job.targetInstanceId
  const work = items.filter(i => i.result === undefined && i.device !== null)
  // Recorded as moved in an earlier attempt: only its event may be missing, and only while the device
  // is still where this job put it.
  for (const item of work) {
    if (item.prior?.code === RECORD_CODES.success) item.emit = item.device != null && movedByThisJob(item.device, job)
  }
  const moving = work.filter(i => i.prior?.code !== RECORD_CODES.success)
  // A registry error ends this attempt; a later one resumes the batch (every move is idempotent).
  // The records validate just read stand in for the move's own read (the registry still checks they are current).
  const outcomes = await moveAll(store, job, moving.map(i => i.deviceName), moving.map(i => i.device ?? null))
  moving.forEach((item, i) => {
    const outcome = outcomes[i] as MoveOutcome
    switch (outcome.result) {
      case 'moved':
        // The broker of the old instance completes the record of an online device once it has told it.
        item.result = moveRecord(job.productKey, item.deviceName, { stage: outcome.wasOnline === null ? 'offline' : 'moved', to })
        item.emit = true
        item.movedNow = true
        break
      case 'already':
        item.result = moveRecord(job.productKey, item.deviceName, { stage: 'moved', to })
        item.emit = true
        break
      case 'not-found':
        item.result = record(job, item.deviceName, RECORD_CODES.deviceNotFound, `device ${item.deviceName} does not exist in product ${job.productKey}`)
        break
      case 'not-at-source':
        item.result = record(job, item.deviceName, RECORD_CODES.notAtSource, `device ${item.deviceName} is not at instance ${job.sourceInstanceId}`)
        break
    }
  })
}

/** The moved devices' timelines, in one pipelined call per batch (docs/operations.md, "Device timeline"). */
async function noteMoves ({ job, store, log, items }: DeviceBatch): Promise<void> {
  const at = Date.now()
  const event = { kind: 'moved' as const, at, jobId: job.id, from: job.sourceInstanceId, to: job.targetInstanceId }
  await appendEvents(store, items.filter(i => i.movedNow === true).map(i => ({ productKey: job.productKey, deviceName: i.deviceName, event })), log ?? silentLogger)
}

/**
 * Written BEFORE the move event, so the broker's fuller record (online, answered, disconnected)
 * lands after it and wins. A record that is already final is never rewritten.
 */
async function recordResult ({ job, store, items }: DeviceBatch): Promise<void> {
  const records: JobRecord[] = []
  for (const item of items) {
    if (item.result === undefined) continue
    if (item.prior !== undefined && item.prior.code !== RECORD_CODES.pending) {
      item.result = undefined
      continue
    }
    records.push(item.result)
  }
  await store.putRecords(job.id, records)
}

/** docs/protocol.md, "Notify and reply": the source instance's brokers notify and kick the device if it is online there. */
async function emitMove ({ job, store, items, pace }: DeviceBatch): Promise<void> {
  const emitting = items.filter(i => i.emit)
  if (pace !== undefined) await pace(emitting.length)
  await store.publishMoves(emitting.map(item => ({
    jobId: job.id,
    productKey: job.productKey,
    deviceName: item.deviceName,
    fromInstanceId: job.sourceInstanceId,
    toInstanceId: job.targetInstanceId
  })))
}

/**
 * After the events: the moved devices of this batch owe nothing more, so a resumed job leaves them alone.
 * Devices this job no longer holds (moved on since) are marked too: no event is due for them.
 */
async function markAnnounced ({ job, store, items }: DeviceBatch): Promise<void> {
  const done = items.filter(i => i.result?.code === RECORD_CODES.success || i.prior?.code === RECORD_CODES.success)
  await store.markAnnounced(job.id, done.map(i => ({ productKey: job.productKey, deviceName: i.deviceName })))
}
