// One broker node of one instance: Aedes, the Homing plugin, its transports (broker/listeners.ts),
// health and metrics on listen.http, and (with `redis`) the cluster backends that join it to the
// instance's other nodes.
import { hostname } from 'node:os'
import { Aedes, type Client } from 'aedes'
import { ConfigError, type Config } from '../shared/config.js'
import { silentLogger, type Logger } from '../shared/log.js'
import { observedStore } from '../shared/metrics/store.js'
import { deviceMetrics } from '../shared/metrics/devices.js'
import type { LimitReason, Metrics, Transport } from '../shared/metrics/metrics.js'
import { startProbeServer, type ProbeServer } from '../shared/probes.js'
import { openStore } from '../shared/store/index.js'
import type { Store } from '../shared/store/store.js'
import { loadTls, type TlsFiles } from '../shared/tls.js'
import { brokerRedisOf, clusterBackends, type ClusterBackends } from './cluster.js'
import { limitConnection } from './connection-limits.js'
import { sampleConnections } from './connection-samples.js'
import { openListeners, TRANSPORTS, type Listener } from './listeners.js'
import { observeBroker } from './observe.js'
import { homing, type HomingBroker } from './plugin.js'

export type PortName = Transport | 'http'

export interface BrokerNodeOptions {
  config: Config
  instanceId: string
  /** Stable id (the move consumer is keyed by it); default `<instanceId>-<hostname>-<first port>`. */
  nodeId?: string
  /** The registry; opened from `config.redis` when absent. The memory store only comes this way (`homing up`). */
  store?: Store
  log?: Logger
  /** Override `instances[].listen` ports (mqtt, mqtts, ws, wss, http); 0 picks a free port. */
  ports?: Partial<Record<PortName, number>>
  /** PEM files for mqtts and wss; default: the config's `tls` block. */
  tls?: TlsFiles
  /** Counts CONNACK codes, connections, kicks and registry errors; served at listen.http's /metrics. */
  metrics?: Metrics
}

/** The ports actually bound, by transport. */
export interface BrokerPorts extends Partial<Record<PortName, number>> {
  /** The plain MQTT port; reading it on a node without one throws (say which transport you want). */
  readonly mqtt: number
}

export interface BrokerNode {
  aedes: Aedes
  homing: HomingBroker
  nodeId: string
  ports: BrokerPorts
  close: () => Promise<void>
}

export async function startBrokerNode (options: BrokerNodeOptions): Promise<BrokerNode> {
  const { config, instanceId, metrics } = options
  const log = options.log ?? silentLogger
  const index = config.instances.findIndex(i => i.id === instanceId)
  const instance = config.instances[index]
  if (instance === undefined) {
    throw new ConfigError(`--instance: "${instanceId}" is not in the config (instances: ${config.instances.map(i => i.id).join(', ')})`)
  }
  const want = (name: PortName): number | undefined => options.ports?.[name] ?? instance.listen[name]
  const transports = Object.fromEntries(TRANSPORTS.flatMap(t => want(t) === undefined ? [] : [[t, want(t)]])) as Partial<Record<Transport, number>>
  if (Object.keys(transports).length === 0) {
    throw new ConfigError(`instances[${index}].listen: no MQTT listener to run a broker node of "${instanceId}": set mqtt, mqtts, ws or wss (or give a port)`)
  }
  const tls = transports.mqtts !== undefined || transports.wss !== undefined ? options.tls ?? loadTls(config) : null
  if (options.store === undefined && config.redis === undefined) {
    throw new ConfigError('redis: a broker node on its own needs the shared registry; set "redis" (or REDIS_URL). The memory store only works inside `homing up`.')
  }
  if (typeof config.redis === 'object' && 'cluster' in config.redis && config.broker.redis === undefined) {
    throw new ConfigError('broker.redis: with "redis" on a Redis Cluster, the broker\'s sessions and node-to-node messages need a Redis of their own (a redis:// URL or a Sentinel group); see docs/configuration.md, "Redis".')
  }

  const ownStore = options.store === undefined
  // Auto-pipelined: the registry commands of concurrent CONNECTs share socket writes (BENCHMARKS.md, issue 11).
  const opened = options.store ?? await openStore(config, { autoPipelining: true })
  const store = ownStore && metrics !== undefined ? observedStore(opened, metrics) : opened
  let state: 'starting' | 'running' | 'draining' = 'starting'
  // Shutdown, in this order: not ready (load balancers stop sending), stop accepting, close the
  // devices' connections (they reconnect to another node), write the last connection sample, stop the hooks (their offline marks
  // are written by then), then the cluster backends, the probes and the registry.
  let listeners: Listener[] = []
  let probes: ProbeServer | undefined
  let aedes: Aedes | undefined
  let plugin: HomingBroker | undefined
  let unobserve: (() => void) | undefined
  let backends: ClusterBackends | undefined
  let sampler: { stop: () => Promise<void> } | undefined
  const shutdown = (): Promise<void> => runAll([
    async () => { state = 'draining' },
    async () => { for (const listener of listeners) listener.stop() },
    async () => { if (aedes) await new Promise<void>(resolve => (aedes as Aedes).close(() => resolve())) },
    async () => sampler?.stop(),
    async () => plugin?.close(),
    async () => unobserve?.(),
    async () => backends?.destroy(),
    async () => probes?.close(),
    async () => { if (ownStore) await store.close() }
  ])
  try {
    // Every port is bound before anything else starts: a taken one fails the node at once.
    listeners = await openListeners({
      host: instance.listen.host,
      ports: transports,
      tls,
      trustProxy: instance.listen.trustProxy === true,
      maxPacketBytes: config.broker.maxPacketBytes,
      log: log.child({ instanceId }),
      metrics,
      configPath: `instances[${index}].listen`
    })
    const httpPort = want('http')
    // docs/operations.md, "Hardening": not ready while this node cannot read its move events.
    const unready = (): string | null => plugin === undefined || plugin.consumingMoves() ? null : 'move events not consumed'
    if (httpPort !== undefined) probes = await startProbeServer(instance.listen.host, httpPort, { store, metrics, state: () => state, unready }, `instances[${index}].listen.http`)
    const ports = portsOf(listeners, probes)
    const nodeId = options.nodeId ?? `${instanceId}-${hostname()}-${listeners[0]?.port ?? 0}`
    const nodeLog = log.child({ instanceId, nodeId })
    const brokerRedis = brokerRedisOf(config)
    if (brokerRedis !== undefined) {
      backends = clusterBackends({ redis: brokerRedis, keyPrefix: config.keyPrefix, instanceId, log: nodeLog })
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
      keepaliveMax: config.broker.keepaliveMax,
      limits: config.broker,
      deniedPublish: config.broker.deniedPublish,
      movedDevices: config.broker.movedDevices,
      ...(metrics === undefined
        ? {}
        : {
            onDeniedPublish: action => deviceMetrics(metrics).deniedPublishes.inc({ instance: instanceId, action }),
            onDeviceConnect: (sdk, transport) => deviceMetrics(metrics).deviceConnects.inc({ instance: instanceId, sdk, transport }),
            onThingReply: code => deviceMetrics(metrics).thingReplies.inc({ instance: instanceId, code: String(code) }),
            onKick: report => metrics.kicked(instanceId, report),
            onRedirect: outcome => deviceMetrics(metrics).redirects.inc({ instance: instanceId, outcome }),
            onDisconnect: reason => metrics.disconnected(instanceId, reason),
            onLimit: reason => metrics.limitCloses.inc({ instance: instanceId, reason }),
            onLockout: scope => metrics.connectLockouts.inc({ instance: instanceId, scope }),
            onMoveStreamError: (kind, recreated) => {
              metrics.moveStreamErrors.inc({ instance: instanceId, kind })
              if (recreated) metrics.moveGroupsRecreated.inc({ instance: instanceId })
            }
          })
    })
    if (metrics !== undefined) unobserve = observeBroker(aedes, instanceId, metrics, nodeLog)
    await plugin.ready
    const broker = aedes
    // Every transport feeds the same Aedes: the same authentication and fences on all of them.
    const homingBroker = plugin
    const limited = (client: Client, reason: LimitReason): void => { homingBroker.limitClosed(client, reason) }
    for (const listener of listeners) {
      listener.accept((stream, req) => limitConnection(stream, broker.handle(stream, req), config.broker, homingBroker.authenticated, limited))
    }
    if (config.broker.connectionSampleMs > 0) {
      sampler = sampleConnections({
        store,
        instanceId,
        nodeId,
        everyMs: config.broker.connectionSampleMs,
        keepMs: config.broker.connectionHistoryHours * 3_600_000,
        count: () => broker.connectedClients,
        log: nodeLog
      })
    }
    state = 'running'
    // `port`: the first transport's (mqtt when it listens), as before there were others.
    nodeLog.info({ host: instance.listen.host, port: listeners[0]?.port, ports: { ...ports } }, 'listening')

    let closing: Promise<void> | undefined
    return {
      aedes,
      homing: plugin,
      nodeId,
      ports,
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

function portsOf (listeners: Listener[], probes: ProbeServer | undefined): BrokerPorts {
  const ports: Partial<Record<PortName, number>> = {}
  for (const listener of listeners) ports[listener.transport] = listener.port
  if (probes !== undefined) ports.http = probes.port
  if (ports.mqtt === undefined) {
    Object.defineProperty(ports, 'mqtt', {
      enumerable: false,
      get: () => { throw new Error('this broker node has no plain MQTT listener (listen.mqtt); read ports.mqtts, ports.ws or ports.wss') }
    })
  }
  return ports as BrokerPorts
}

/** In order; one failing does not stop the others. */
async function runAll (steps: (() => Promise<void>)[]): Promise<void> {
  for (const step of steps) await step().catch(() => {})
}
