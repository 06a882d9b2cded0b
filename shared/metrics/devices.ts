// What the broker sees of device applications: how they connect (by SDK and transport), the
// PUBLISHes it refused at the topic fences, and the thing-model replies it sent
// (docs/devices.md, docs/operations.md "Metrics").
import { Counter } from 'prom-client'
import type { SdkFamily } from '../client-id.js'
import type { Metrics } from './metrics.js'

export type { SdkFamily }
/** What became of a refused PUBLISH (config broker.deniedPublish). */
export type DeniedAction = 'ignored' | 'disconnected'

export interface DeviceMetrics {
  deviceConnects: Counter<'instance' | 'sdk' | 'transport'>
  deniedPublishes: Counter<'instance' | 'action'>
  thingReplies: Counter<'instance' | 'code'>
  redirects: Counter<'instance' | 'outcome'>
}

const made = new WeakMap<Metrics, DeviceMetrics>()

/** The counters in this Metrics' registry, registered once however many nodes share it. */
export function deviceMetrics (metrics: Metrics): DeviceMetrics {
  let found = made.get(metrics)
  if (found === undefined) {
    const registers = [metrics.registry]
    found = {
      deviceConnects: new Counter({
        name: 'homing_mqtt_device_connects_total',
        help: 'Accepted device CONNECTs, by instance, SDK named in the clientId (c, python, js, other) and transport',
        labelNames: ['instance', 'sdk', 'transport'],
        registers
      }),
      deniedPublishes: new Counter({
        name: 'homing_mqtt_denied_publishes_total',
        help: 'PUBLISHes outside the device\'s topics, by instance and what was done (ignored: dropped and acknowledged; disconnected)',
        labelNames: ['instance', 'action'],
        registers
      }),
      redirects: new Counter({
        name: 'homing_mqtt_redirects_total',
        help: 'Devices that moved away and connected here again, sent the notify and disconnected (broker.movedDevices redirect), by instance and how it ended (answered, timeout, closed)',
        labelNames: ['instance', 'outcome'],
        registers
      }),
      thingReplies: new Counter({
        name: 'homing_mqtt_thing_replies_total',
        help: 'Thing-model _reply messages sent to devices (property, event and deviceinfo posts), by instance and Alink code',
        labelNames: ['instance', 'code'],
        registers
      })
    }
    made.set(metrics, found)
  }
  return found
}
