// Policy "region" within the caller's account: every device goes to one target instance of the
// caller's, other than the source.
import { badRequest, forbidden } from '../http/http-error.js'
import { refuseFields, type Destination, type JobRequest, type PlanContext } from './plan-request.js'

export async function thisAccountRegion (request: JobRequest, { account, topology }: PlanContext): Promise<Destination> {
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
