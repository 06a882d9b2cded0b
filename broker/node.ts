// One broker node of one instance: Aedes, the Homing plugin, a TCP listener, and (with `redis`) the
// cluster backends that join it to the instance's other nodes.
import { createServer, type Server, type Socket } from 'node:net'
import { hostname } from 'node:os'
import { Aedes } from 'aedes'
import { ConfigError, type Config } from '../shared/config.js'
import { silentLogger, type Logger } from '../shared/log.js'
import { openStore } from '../shared/store/index.js'
import type { Store } from '../shared/store/store.js'
import { clusterBackends, type ClusterBackends } from './cluster.js'
import { homing, type HomingBroker } from './plugin.js'

export interface BrokerNodeOptions {
  config: Config
  instanceId: string
  /** Stable id (the move consumer is keyed by it); default `<instanceId>-<hostname>-<mqtt port>`. */
  nodeId?: string
  /** The registry; opened from `config.redis` when absent. The memory store only comes this way (`homing up`). */
  store?: Store
  log?: Logger
  /** Overrides `instances[].listen.mqtt`; 0 picks a free port. */
  ports?: { mqtt?: number }
}

export interface BrokerNode {
  aedes: Aedes
  homing: HomingBroker
  nodeId: string
  /** The port actually bound. */
  ports: { mqtt: number }
  close: () => Promise<void>
}

export async function startBrokerNode (options: BrokerNodeOptions): Promise<BrokerNode> {
  const { config, instanceId } = options
  const log = options.log ?? silentLogger
  const index = config.instances.findIndex(i => i.id === instanceId)
  const instance = config.instances[index]
  if (instance === undefined) {
    throw new ConfigError(`--instance: "${instanceId}" is not in the config (instances: ${config.instances.map(i => i.id).join(', ')})`)
  }
  const wantPort = options.ports?.mqtt ?? instance.listen.mqtt
  if (wantPort === undefined) throw new ConfigError(`instances[${index}].listen.mqtt: required to run a broker node of "${instanceId}" (or give the port)`)
  if (options.store === undefined && config.redis === undefined) {
    throw new ConfigError('redis: a broker node on its own needs the shared registry; set "redis" (or REDIS_URL). The memory store only works inside `homing up`.')
  }

  const ownStore = options.store === undefined
  const store = options.store ?? await openStore(config)
  // Shutdown, in this order: stop accepting, close the devices' connections, stop the hooks (their
  // offline marks are written by then), then the cluster backends and the registry.
  let listener: Listener | undefined
  let aedes: Aedes | undefined
  let plugin: HomingBroker | undefined
  let backends: ClusterBackends | undefined
  const shutdown = (): Promise<void> => runAll([
    async () => listener?.stop(),
    async () => { if (aedes) await new Promise<void>(resolve => (aedes as Aedes).close(() => resolve())) },
    async () => plugin?.close(),
    async () => backends?.destroy(),
    async () => { if (ownStore) await store.close() }
  ])
  try {
    listener = await listen(instance.listen.host, wantPort)
    const port = listener.port
    const nodeId = options.nodeId ?? `${instanceId}-${hostname()}-${port}`
    const nodeLog = log.child({ instanceId, nodeId })
    if (config.redis !== undefined) {
      backends = clusterBackends({ url: config.redis, keyPrefix: config.keyPrefix, instanceId, log: nodeLog })
    }
    // Each node its own Aedes id (the default, random): the cluster tells nodes apart by it.
    aedes = await Aedes.createBroker(backends ? { mq: backends.mq, persistence: backends.persistence } : {})
    aedes.on('clientError', (client, err) => nodeLog.debug({ clientId: client.id, err: err.message }, 'client error'))
    plugin = homing(aedes, {
      instanceId,
      nodeId,
      store,
      log,
      notifyTimeoutMs: config.broker.notifyTimeoutMs,
      keepaliveMin: config.broker.keepaliveMin,
      keepaliveMax: config.broker.keepaliveMax
    })
    await plugin.ready
    const broker = aedes
    listener.accept(socket => broker.handle(socket))
    nodeLog.info({ host: instance.listen.host, port }, 'listening')

    let closing: Promise<void> | undefined
    return {
      aedes,
      homing: plugin,
      nodeId,
      ports: { mqtt: port },
      close: () => {
        closing ??= shutdown().then(() => nodeLog.info('closed'))
        return closing
      }
    }
  } catch (err) {
    await shutdown()
    throw err
  }
}

/** In order; one failing does not stop the others. */
async function runAll (steps: (() => Promise<void>)[]): Promise<void> {
  for (const step of steps) await step().catch(() => {})
}

interface Listener {
  port: number
  /** Hands every connection, including those that arrived before, to `handle`. */
  accept: (handle: (socket: Socket) => void) => void
  /** Stops accepting; connections already handed over stay with their owner. */
  stop: () => void
}

/** Binds first (the node id may need the port), holds early connections until the broker is ready. */
async function listen (host: string, port: number): Promise<Listener> {
  const early: Socket[] = []
  let handle: ((socket: Socket) => void) | null = null
  const server: Server = createServer(socket => handle ? handle(socket) : early.push(socket))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    accept: h => {
      handle = h
      for (const socket of early.splice(0)) h(socket)
    },
    stop: () => {
      for (const socket of early.splice(0)) socket.destroy()
      server.close()
    }
  }
}
