// docs/distribution.md, "Rule 10": cross-account distribution. The destination account is named by id or name, its
// instance must be given, nearest access is refused (see plan.ts), and the job carries a code from
// the destination's owner, used up here: the last check, so that a job refused for any other reason
// leaves the code pending.
import { consumeCode } from '../api/codes/verify.js'
import { badRequest } from '../http/http-error.js'
import { refuseFields, type Destination, type JobRequest, type PlanContext } from './plan-request.js'

export async function crossAccountRegion (request: JobRequest, { account, topology, store, now, dryRun }: PlanContext): Promise<Destination> {
  refuseFields(request, ['targets'], 'is for policy "nearest", which cross-account distribution cannot use')
  if (request.targetAccount === undefined) throw badRequest('targetAccount is required with method "cross-account": the destination account\'s id or name', 'targetAccount')
  const target = topology.account(request.targetAccount)
  if (target === undefined) throw badRequest(`unknown account ${request.targetAccount}`, 'targetAccount')
  if (target.id === account.id) throw badRequest('targetAccount is your own account: use method "this-account"', 'targetAccount')
  const id = request.targetInstanceId
  if (id === undefined) throw badRequest('targetInstanceId is required with method "cross-account"', 'targetInstanceId')
  // Unknown, or another account's: one answer, so the sender learns nothing about either.
  if (topology.instance(id)?.account !== target.id) throw badRequest(`account ${target.id} has no instance ${id}`, 'targetInstanceId')
  if (request.verificationCode === undefined) {
    throw badRequest(`verificationCode is required: POST /api/v1/distribution/verification-codes {"targetAccount":"${target.id}"} sends one to that account's owner`, 'verificationCode')
  }
  // A preview neither uses the code up nor counts a try: it cannot be used to guess codes (preview.ts).
  if (dryRun !== true) await consumeCode(store, { sourceAccountId: account.id, targetAccountId: target.id }, request.verificationCode, now)
  return { targetInstanceId: id, targets: [], targetAccountId: target.id }
}
