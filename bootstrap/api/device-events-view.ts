// What the management API shows of a device's timeline: the same ownership rule as the device view
// (device-view.ts). After a cross-account move (docs/distribution.md, "Rule 10") each account sees
// only what happened at its own instances: an event at another account's instance is left out, and a
// move names only the caller's side of it (and the job only when the caller's instance was its source).
import { z } from 'zod'
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

// The answer as the OpenAPI document describes it (openapi-routes.ts). The assignment under it fails
// the type check when the view has an event or a field this schema does not describe.
const at = { at: z.number().int().describe('milliseconds since the epoch, by the clock of the process that wrote it') }
const instance = { ...at, instanceId: z.string() }
const node = { ...instance, nodeId: z.string() }
const address = z.string().nullable().describe('the device\'s address as the sidecar or the broker node saw it')

export const deviceEventSchema = z.union([
  z.object({ kind: z.enum(['created', 'disabled', 'enabled']), ...instance }),
  z.object({ kind: z.literal('bootstrapped'), ...instance, region: z.string(), address, endpoint: z.object({ host: z.string(), port: z.number().int() }) }),
  z.object({ kind: z.literal('connected'), ...node, address, transport: z.string(), sdk: z.string(), sdkVersion: z.string().nullable() }),
  z.object({ kind: z.literal('disconnected'), ...node, reason: z.enum(['client', 'timeout', 'kicked', 'replaced', 'disabled', 'deleted', 'limit', 'shutdown', 'closed']) }),
  z.object({ kind: z.enum(['notified', 'answered']), ...node }),
  z.object({
    kind: z.literal('moved'),
    ...at,
    jobId: z.string().optional().describe('absent when the source was another account\'s instance'),
    from: z.string().optional().describe('absent when it was another account\'s instance'),
    to: z.string().nullable().optional().describe('null under nearest access; absent when it was another account\'s instance')
  }),
  z.object({ kind: z.literal('placed'), ...instance, region: z.string(), address, fallback: z.boolean(), jobId: z.string().nullable() }),
  z.object({ kind: z.literal('tags'), ...instance, count: z.number().int() })
])

export const deviceEventsAnswer = z.object({
  productKey: z.string(),
  deviceName: z.string(),
  limit: z.number().int(),
  events: z.array(deviceEventSchema).describe('newest first')
})

const described: Array<z.infer<typeof deviceEventSchema>> = [] as DeviceEventView[]
void described
