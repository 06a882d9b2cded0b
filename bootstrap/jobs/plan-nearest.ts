// docs/distribution.md, "Rule 7": nearest access. One instance per chosen region, each the caller's and in its region;
// the job needs devices (product data alone cannot go "nearest"). Each device is placed at its first
// bootstrap (bootstrap/devices/placement.ts).
import type { Candidate } from '../../shared/types.js'
import { ApiError, badRequest } from '../http/http-error.js'
import { refuseFields, type Destination, type JobRequest, type PlanContext } from './plan-request.js'

export async function thisAccountNearest (request: JobRequest, { account, topology }: PlanContext): Promise<Destination> {
  refuseFields(request, ['targetInstanceId'], 'is for policy "region"; nearest access takes targets: [{region, instanceId}]')
  refuseFields(request, ['targetAccount', 'verificationCode'], 'is for method "cross-account"')
  if ((request.deviceNames ?? []).length === 0) {
    throw badRequest('nearest access cannot distribute the product alone: name the devices; the product goes to every target with them', 'deviceNames')
  }
  const targets: Candidate[] = request.targets ?? []
  if (targets.length === 0) throw badRequest('targets is required with policy "nearest": one {region, instanceId} per chosen region', 'targets')
  const regions = new Map<string, number>()
  targets.forEach((target, i) => {
    const at = `targets[${i}]`
    if (!topology.regions.has(target.region)) throw badRequest(`${at}.region: unknown region ${target.region}`, `${at}.region`)
    const first = regions.get(target.region)
    if (first !== undefined) throw badRequest(`${at}.region: region ${target.region} is chosen twice (also targets[${first}]); choose one instance per region`, `${at}.region`)
    regions.set(target.region, i)
    const instance = topology.instance(target.instanceId)
    if (instance === undefined) throw badRequest(`${at}.instanceId: unknown instance ${target.instanceId}`, `${at}.instanceId`)
    // Before the region check: another account's instance says nothing more about itself.
    if (instance.account !== account.id) throw new ApiError(403, 'forbidden', `${at}.instanceId: instance ${target.instanceId} belongs to another account`, `${at}.instanceId`)
    if (instance.region !== target.region) throw badRequest(`${at}.instanceId: instance ${target.instanceId} is in region ${instance.region}, not ${target.region}`, `${at}.instanceId`)
  })
  return { targetInstanceId: null, targets: targets.map(({ region, instanceId }) => ({ region, instanceId })), targetAccountId: null }
}
