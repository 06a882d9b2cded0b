// Nearest access (docs/distribution.md, "Rule 7"): a device that a nearest job left waiting among candidates is placed
// at its first bootstrap, in the candidate region nearest to its address. The placement is the same
// atomic move as a region job (store.place): two bootstraps at the same moment place it once.
import { choosePlacement } from '../../shared/placement.js'
import { appendEvents } from '../../shared/timeline.js'
import type { Candidate, Device } from '../../shared/types.js'
import type { Sidecar } from '../context.js'
import { nowOf } from '../clock.js'

/** What the job's record of the device gains, e.g. `placed at iot-de-1 (eu-central-1), nearest to 81.2.69.142`. */
export function placementNote (placement: NonNullable<Device['placement']>): string {
  const where = `placed at ${placement.instanceId} (${placement.region})`
  if (!placement.fallback) return `${where}, nearest to ${placement.address ?? 'its address'}`
  return `${where}, fallback: ${placement.address === null ? 'no address' : `${placement.address} has no known location`}`
}

/**
 * The instance the device lives at from now on, or null when none of its candidates can take it
 * (their instances left the config). A device placed meanwhile by another bootstrap keeps that home.
 */
export async function placeNearest (device: Device, address: string | null, sidecar: Sidecar): Promise<string | null> {
  const { store, topology, config, log } = sidecar
  const usable = (device.candidates ?? []).filter((c: Candidate) => topology.instance(c.instanceId) !== undefined)
  if (usable.length === 0) return null
  const choice = choosePlacement(usable, topology.regions, address, config.bootstrap.defaultRegion)
  const placement = { instanceId: choice.candidate.instanceId, region: choice.candidate.region, fallback: choice.fallback, address, at: nowOf(sidecar) }
  const outcome = await store.place(device.productKey, device.deviceName, placement)
  if (outcome.result === 'not-found') return null
  if (outcome.result === 'kept') return outcome.device.instanceId
  const fields = { productKey: device.productKey, deviceName: device.deviceName, jobId: device.lastJobId, instanceId: placement.instanceId, region: placement.region, fallback: placement.fallback }
  log.info(fields, 'device placed (nearest access)')
  void appendEvents(store, [{ productKey: device.productKey, deviceName: device.deviceName, event: { kind: 'placed', ...placement, jobId: device.lastJobId } }], log)
  if (device.lastJobId !== null) {
    // The device is placed whatever happens here: a lost note costs the record its last words only.
    await store.notePlacement(device.lastJobId, device.productKey, device.deviceName, placementNote(placement))
      .catch(err => { log.warn({ ...fields, err }, 'placement not noted in the job record') })
  }
  return placement.instanceId
}
