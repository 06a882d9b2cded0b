// What a broker node reports to Prometheus, read from Aedes' own events: CONNACK codes as they are
// sent (docs/protocol.md, "CONNECT authentication"), and its client count at each scrape. Kicks are counted by the plugin's onKick.
import type { Aedes, Client, ConnackPacket } from 'aedes'
import type { Counter } from 'prom-client'
import type { Logger } from '../shared/log.js'
import type { Metrics } from '../shared/metrics/metrics.js'
import { connectionId } from './listeners.js'

/** Starts counting; the returned function stops. */
export function observeBroker (aedes: Aedes, instanceId: string, metrics: Metrics, log: Logger): () => void {
  const byCode = new Map<number, Counter.Internal>()
  const onConnack = (packet: ConnackPacket, client: Client): void => {
    const code = packet.returnCode ?? 0
    let counter = byCode.get(code)
    if (counter === undefined) byCode.set(code, counter = metrics.connects.labels(instanceId, String(code)))
    counter.inc()
    if (log.isLevelEnabled('debug')) log.debug({ conn: connectionId(client.conn), clientId: client.id, returnCode: code }, 'connack')
  }
  aedes.on('connackSent', onConnack)
  const stopCounting = metrics.countConnections(instanceId, () => aedes.connectedClients)
  return () => {
    aedes.off('connackSent', onConnack)
    stopCounting()
  }
}
