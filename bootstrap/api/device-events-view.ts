// What the management API shows of a device's timeline: the same ownership rule as the device view
// (device-view.ts). After a cross-account move (docs/distribution.md, "Rule 10") each account sees
// only what happened at its own instances: an event at another account's instance is left out, and a
// move names only the caller's side of it (and the job only when the caller's instance was its source).
import type { DeviceEvent } from '../../shared/device-events.js'

type Moved = Extract<DeviceEvent, { kind: 'moved' }>

/** A move as the caller sees it: `from` and `jobId` absent when the source was another account's, `to` when the destination was. */
export type MovedView = Pick<Moved, 'kind' | 'at'> & Partial<Pick<Moved, 'from' | 'jobId' | 'to'>>

export type DeviceEventView = Exclude<DeviceEvent, Moved> | MovedView

/** Newest first, as stored; `owns` says whether an instance is the caller's. */
export function deviceEventsView (events: DeviceEvent[], owns: (instanceId: string) => boolean): DeviceEventView[] {
  return events.flatMap((event): DeviceEventView[] => {
    if (event.kind !== 'moved') return owns(event.instanceId) ? [event] : []
    const { from, to, jobId, ...rest } = event
    const source = owns(from)
    const destination = to !== null && owns(to)
    if (!source && !destination) return []
    return [{ ...rest, ...(source ? { from, jobId } : {}), ...(source || destination ? { to } : {}) }]
  })
}
