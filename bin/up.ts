// `homing up`: the sidecar and one broker node per instance in one process, on the memory store
// unless the config names a Redis. `npm start` runs it on docker/demo.json. The command itself (its
// options, the banner) is in commands/up.ts, which loads this file only when it runs.
import { startSidecar, type SidecarServer } from '../bootstrap/http/server.js'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { TRANSPORTS } from '../broker/listeners.js'
import { startBrokerNode, type BrokerNode, type PortName } from '../broker/node.js'
import { Topology, type Config } from '../shared/config.js'
import { loadGeoData } from '../shared/geo.js'
import type { Logger } from '../shared/log.js'
import { Metrics, observedStore, observeJobs } from '../shared/metrics/index.js'
import { openStore } from '../shared/store/index.js'
import type { Store } from '../shared/store/store.js'

export interface Everything {
  sidecar: SidecarServer
  brokers: Map<string, BrokerNode>
  store: Store
  /** Everything this process counts; served at the sidecar's /metrics. */
  metrics: Metrics
  close: () => Promise<void>
}

const PORT_NAMES: PortName[] = [...TRANSPORTS, 'http']

/** A port someone else holds: name it and the key that moves it. */
export class PortTakenError extends Error {
  constructor (readonly port: number, readonly key: string) {
    super(`port ${port} is already in use (${key}); free it or change ${key} in the config`)
    this.name = 'PortTakenError'
  }
}

/** `keys`: the config key of each port the start may bind; the taken one is named. */
async function bound<T> (keys: [number | undefined, string][], start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    const taken = err as NodeJS.ErrnoException & { port?: number }
    const key = keys.find(([port]) => port !== undefined && port === taken.port) ?? keys[0]
    if (taken.code === 'EADDRINUSE' && key?.[0] !== undefined) throw new PortTakenError(key[0], key[1])
    throw err
  }
}

/** Starts every part; on a failure, stops what had started and rethrows. */
export async function up (config: Config, log: Logger, metrics = new Metrics()): Promise<Everything> {
  const store = observedStore(await openStore(config), metrics)
  observeJobs(metrics, store)
  const topology = new Topology(config)
  const brokers = new Map<string, BrokerNode>()
  let sidecar: SidecarServer | undefined
  const runner = new JobRunner({ store, log: log.child({ part: 'jobs' }), topology, pollMs: config.bootstrap.jobPollMs, batchSize: config.bootstrap.jobBatchSize })
  const close = async (): Promise<void> => {
    await sidecar?.close()
    await runner.close()
    await Promise.all([...brokers.values()].map(b => b.close()))
    await store.close()
  }
  try {
    loadGeoData() // nearest access: read before devices bootstrap, not in the middle of one
    sidecar = await bound([[config.bootstrap.port, 'bootstrap.port'], [config.bootstrap.httpsPort, 'bootstrap.httpsPort']], () =>
      startSidecar({ config, topology, store, log: log.child({ part: 'bootstrap' }), metrics }))
    runner.start()
    for (const [i, instance] of config.instances.entries()) {
      if (!TRANSPORTS.some(t => instance.listen[t] !== undefined)) continue
      const keys = PORT_NAMES.map((name): [number | undefined, string] => [instance.listen[name], `instances[${i}].listen.${name}`])
      brokers.set(instance.id, await bound(keys, () =>
        startBrokerNode({ config, instanceId: instance.id, store, log: log.child({ part: 'broker' }), metrics })))
    }
  } catch (err) {
    await close()
    throw err
  }
  return { sidecar, brokers, store, metrics, close }
}
