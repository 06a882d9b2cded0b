// A job request is validated as a whole before anything is stored (docs/operations.md, "Redis outage"): it becomes
// a Job record, or is refused with the one problem that stops it.
import { randomBytes } from 'node:crypto'
import { DEVICE_NAME } from '../../shared/device.js'
import type { Job, JobMethod, JobPace, JobPolicy } from '../../shared/types.js'
import { ApiError, badRequest, notFound } from '../http/http-error.js'
import { validate } from '../http/validate.js'
import { crossAccountRegion } from './plan-cross-account.js'
import { thisAccountNearest } from './plan-nearest.js'
import { thisAccountRegion } from './plan-region.js'
import { jobRequestSchema, type JobRequest, type PlanContext, type Planner } from './plan-request.js'

/** docs/distribution.md, "Rule 8". */
export const MAX_JOB_DEVICES = 10_000

const planners: Record<`${JobMethod}/${JobPolicy}`, Planner | string> = {
  'this-account/region': thisAccountRegion,
  'this-account/nearest': thisAccountNearest,
  'cross-account/region': crossAccountRegion,
  // docs/distribution.md, "Rule 10".
  'cross-account/nearest': 'cross-account distribution cannot use policy "nearest"'
}

/** `now`: the sidecar's clock; the id sorts by creation time. */
export function newJobId (now: number): string {
  return `j${now.toString(36)}${randomBytes(4).toString('hex')}`
}

/** Validates a request (JSON body, or the fields of a CSV upload with its device list) into a new Job. */
export async function planJob (raw: unknown, ctx: PlanContext): Promise<Job> {
  const request = parseRequest(raw)
  const planner = planners[`${request.method}/${request.policy}`]
  if (typeof planner === 'string') throw new ApiError(400, 'not_supported', planner, request.method === 'cross-account' ? 'method' : 'policy')
  const deviceNames = checkDeviceNames(request.deviceNames ?? [])
  checkSource(request, ctx)
  if (await ctx.store.getProduct(request.productKey, request.sourceInstanceId) === null) {
    throw badRequest(`product ${request.productKey} does not exist at instance ${request.sourceInstanceId}`, 'productKey')
  }
  const destination = await planner(request, ctx)
  const now = ctx.now
  return {
    id: newJobId(now),
    accountId: ctx.account.id,
    method: request.method,
    policy: request.policy,
    sourceInstanceId: request.sourceInstanceId,
    productKey: request.productKey,
    deviceNames,
    ...destination,
    status: 'initializing',
    total: deviceNames.length,
    succeeded: 0,
    failed: 0,
    createdAt: now,
    updatedAt: now,
    error: null,
    pace: jobPace(request)
  }
}

/** Seconds the job view waits for moved online devices to come back when the request names none. */
export const DEFAULT_SETTLE_TIMEOUT_SECONDS = 300

function jobPace (request: JobRequest): JobPace {
  if (request.wavePauseSeconds !== undefined && request.waveSize === undefined) {
    throw badRequest('wavePauseSeconds needs waveSize', 'wavePauseSeconds')
  }
  return {
    rate: request.rate ?? null,
    waveSize: request.waveSize ?? null,
    wavePauseSeconds: request.wavePauseSeconds ?? 0,
    settleTimeoutSeconds: request.settleTimeoutSeconds ?? DEFAULT_SETTLE_TIMEOUT_SECONDS
  }
}

function parseRequest (raw: unknown): JobRequest {
  if (typeof raw === 'object' && raw !== null && Array.isArray((raw as { deviceNames?: unknown }).deviceNames)) {
    // Say "too many" before zod walks 100,000 entries.
    const count = (raw as { deviceNames: unknown[] }).deviceNames.length
    if (count > MAX_JOB_DEVICES) throw badRequest(`a job holds at most ${MAX_JOB_DEVICES} devices (got ${count})`, 'deviceNames')
  }
  return validate(jobRequestSchema, raw)
}

/** docs/distribution.md, "Rule 8", and a list that names each device once, by a name a device can have. */
function checkDeviceNames (names: string[]): string[] {
  const seen = new Map<string, number>()
  names.forEach((name, i) => {
    if (!DEVICE_NAME.test(name)) throw badRequest(`deviceNames[${i}]: "${name}" is not a valid DeviceName (4-32 of letters, digits, - _ @ . :)`, `deviceNames[${i}]`)
    const first = seen.get(name)
    if (first !== undefined) throw badRequest(`deviceNames[${i}]: duplicate device name "${name}" (also deviceNames[${first}])`, `deviceNames[${i}]`)
    seen.set(name, i)
  })
  return names
}

/** The caller distributes only from its own instances; another account's looks like none at all. */
function checkSource (request: JobRequest, { account, topology }: PlanContext): void {
  const source = topology.instance(request.sourceInstanceId)
  // The same answer for an instance that does not exist and one of another account's.
  if (source === undefined || source.account !== account.id) throw notFound(`instance ${request.sourceInstanceId}`)
}
