// A job request is validated as a whole before anything is stored (docs/operations.md, "Redis outage"): it becomes
// a Job record, or is refused with the one problem that stops it.
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { Topology } from '../../shared/config.js'
import { DEVICE_NAME } from '../../shared/device.js'
import type { Store } from '../../shared/store/store.js'
import type { Account, Candidate, Job, JobMethod, JobPolicy } from '../../shared/types.js'
import { ApiError, badRequest, forbidden, notFound } from '../http-error.js'
import { validate } from '../validate.js'
import { crossAccountRegion } from './plan-cross-account.js'
import { refuseFields } from './plan-fields.js'
import { thisAccountNearest } from './plan-nearest.js'

/** docs/distribution.md, "Rule 8". */
export const MAX_JOB_DEVICES = 10_000

export const jobRequestSchema = z.strictObject({
  method: z.enum(['this-account', 'cross-account']),
  policy: z.enum(['region', 'nearest']),
  sourceInstanceId: z.string().min(1),
  productKey: z.string().min(1),
  deviceNames: z.array(z.string()).optional(),
  targetInstanceId: z.string().min(1).optional(),
  targets: z.array(z.strictObject({ region: z.string().min(1), instanceId: z.string().min(1) })).optional(),
  targetAccount: z.string().min(1).optional(),
  verificationCode: z.string().min(1).optional()
})
export type JobRequest = z.infer<typeof jobRequestSchema>

export interface PlanContext {
  account: Account
  topology: Topology
  store: Store
  /** The sidecar's clock: verification codes expire. */
  now: number
  /** A preview (preview.ts): every check that changes nothing; the verification code is not used up. */
  dryRun?: boolean
}

/** Where a job sends its devices; one planner per (method, policy) the sidecar supports. */
export interface Destination {
  targetInstanceId: string | null
  targets: Candidate[]
  targetAccountId: string | null
}
/** Runs last, once the rest of the request is known good: a planner may use something up (a code). */
type Planner = (request: JobRequest, ctx: PlanContext) => Promise<Destination>

const planners: Record<`${JobMethod}/${JobPolicy}`, Planner | string> = {
  'this-account/region': thisAccountRegion,
  'this-account/nearest': thisAccountNearest,
  'cross-account/region': crossAccountRegion,
  // docs/distribution.md, "Rule 10".
  'cross-account/nearest': 'cross-account distribution cannot use policy "nearest"'
}

export function newJobId (): string {
  return `j${Date.now().toString(36)}${randomBytes(4).toString('hex')}`
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
  const now = Date.now()
  return {
    id: newJobId(),
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
    error: null
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

async function thisAccountRegion (request: JobRequest, { account, topology }: PlanContext): Promise<Destination> {
  refuseFields(request, ['targets'], 'is for policy "nearest"; policy "region" takes targetInstanceId')
  refuseFields(request, ['targetAccount', 'verificationCode'], 'is for method "cross-account"')
  const id = request.targetInstanceId
  if (id === undefined) throw badRequest('targetInstanceId is required with policy "region"', 'targetInstanceId')
  const target = topology.instance(id)
  if (target === undefined) throw badRequest(`unknown instance ${id}`, 'targetInstanceId')
  if (id === request.sourceInstanceId) throw badRequest('targetInstanceId is the source instance', 'targetInstanceId')
  if (target.account !== account.id) throw forbidden(`instance ${id} belongs to another account; use method "cross-account"`)
  return { targetInstanceId: id, targets: [], targetAccountId: null }
}
