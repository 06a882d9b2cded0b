// A job request as the API takes it, and what planning it needs: the body's schema, the sidecar's
// parts a planner reads, and where a job sends its devices. plan.ts validates a request and hands
// it to the planner of its method and policy (plan-region.ts, plan-nearest.ts, plan-cross-account.ts);
// they all read this file, and none reads plan.ts.
import { z } from 'zod'
import type { Topology } from '../../shared/config.js'
import type { Store } from '../../shared/store/store.js'
import type { Account, Candidate } from '../../shared/types.js'
import { badRequest } from '../http/http-error.js'

export const jobRequestSchema = z.strictObject({
  method: z.enum(['this-account', 'cross-account']),
  policy: z.enum(['region', 'nearest']),
  sourceInstanceId: z.string().min(1),
  productKey: z.string().min(1),
  deviceNames: z.array(z.string()).optional(),
  targetInstanceId: z.string().min(1).optional(),
  targets: z.array(z.strictObject({ region: z.string().min(1), instanceId: z.string().min(1) })).optional(),
  targetAccount: z.string().min(1).optional(),
  verificationCode: z.string().min(1).optional(),
  // docs/distribution.md, "Rate, waves and settling": all optional; without them a job moves as fast as it can.
  /** Move events (so notifies) per second, across all broker nodes of the source instance. */
  rate: z.number().int().min(1).max(100_000).optional(),
  /** Devices per wave; the job pauses `wavePauseSeconds` between waves. */
  waveSize: z.number().int().min(1).max(10_000).optional(),
  wavePauseSeconds: z.number().min(0).max(86_400).optional(),
  /** How long after the job ran its view waits for moved online devices to come back before listing stragglers. */
  settleTimeoutSeconds: z.number().int().min(0).max(86_400).optional()
})
export type JobRequest = z.infer<typeof jobRequestSchema>

export interface PlanContext {
  account: Account
  topology: Topology
  store: Store
  /** The sidecar's clock (bootstrap/clock.ts): jobs are dated, verification codes expire. */
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
export type Planner = (request: JobRequest, ctx: PlanContext) => Promise<Destination>

/** A job body field that belongs to another method or policy is refused, not silently ignored. */
export function refuseFields (request: JobRequest, fields: (keyof JobRequest)[], why: string): void {
  for (const field of fields) {
    if (request[field] !== undefined) throw badRequest(`${field} ${why}`, field)
  }
}
