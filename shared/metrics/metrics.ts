// Prometheus metrics of one process (prom-client), scraped at /metrics. Labels come from small fixed
// sets (status codes, CONNACK codes, instance ids from the config, transports, store methods): never
// a device name, a clientId or an address, so the series count does not grow with the fleet.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { KickReport } from '../records.js'
import type { DisconnectReason } from '../types.js'

export type Transport = 'mqtt' | 'mqtts' | 'ws' | 'wss'

/** Why a broker closed a device's connection on a limit (docs/operations.md, "Hardening"). */
export type LimitReason = 'preauth_bytes' | 'packet_size' | 'payload_size' | 'outgoing_queue' | 'publish_rate' | 'record_missing'

export interface MetricsOptions {
  /** Process metrics (CPU, memory, open file descriptors, event loop lag); default true. */
  defaults?: boolean
}

export class Metrics {
  readonly registry = new Registry()

  // Sidecar.
  readonly bootstrapRequests: Counter<'code'>
  readonly bootstrapSeconds: Histogram
  readonly apiRequests: Counter<'code'>
  readonly deviceStateChanges: Counter<'action'>
  readonly httpKeptConnections: Gauge
  readonly httpIdleCloses: Counter
  readonly httpDroppedRequests: Counter

  // Broker nodes.
  readonly connects: Counter<'instance' | 'code'>
  readonly notifies: Counter<'instance'>
  readonly notifyReplies: Counter<'instance'>
  readonly kicks: Counter<'instance'>
  readonly sockets: Gauge<'transport'>
  readonly deviceDisconnects: Counter<'instance' | 'reason'>
  readonly limitCloses: Counter<'instance' | 'reason'>
  readonly connectLockouts: Counter<'instance' | 'scope'>
  readonly moveStreamErrors: Counter<'instance' | 'kind'>
  readonly moveGroupsRecreated: Counter<'instance'>

  // Both.
  readonly registryErrors: Counter<'op'>

  /** Per broker node in this process: how many MQTT clients it holds (read at scrape time). */
  private readonly connectionSources = new Set<{ instanceId: string, count: () => number }>()

  constructor (options: MetricsOptions = {}) {
    const registers = [this.registry]
    this.bootstrapRequests = new Counter({
      name: 'homing_bootstrap_requests_total',
      help: 'POST /auth/bootstrap answers, by HTTP status (200, 400, 404, 413, 429, 503)',
      labelNames: ['code'],
      registers
    })
    this.bootstrapSeconds = new Histogram({
      name: 'homing_bootstrap_request_duration_seconds',
      help: 'Time from request to answer of POST /auth/bootstrap',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers
    })
    this.apiRequests = new Counter({
      name: 'homing_api_requests_total',
      help: 'Management API (/api/v1) answers, by HTTP status',
      labelNames: ['code'],
      registers
    })
    this.httpKeptConnections = new Gauge({
      name: 'homing_http_kept_connections',
      help: 'Sidecar HTTP connections left open after an answer for a further request (listed proxies, clients that asked for keep-alive), not yet closed',
      registers
    })
    this.httpIdleCloses = new Counter({
      name: 'homing_http_idle_closes_total',
      help: 'Sidecar HTTP connections closed after waiting bootstrap.keepAlive.idleSeconds for a further request',
      registers
    })
    this.httpDroppedRequests = new Counter({
      name: 'homing_http_dropped_requests_total',
      help: 'Requests pipelined on one sidecar connection past bootstrap.keepAlive.maxRequests, dropped unanswered (the connection closes after the last answer)',
      registers
    })
    this.connects = new Counter({
      name: 'homing_mqtt_connects_total',
      help: 'MQTT CONNECT answers, by instance and CONNACK return code (0 accepted, 2 bad identity, 3 registry unavailable, 4 bad credentials, 5 not here)',
      labelNames: ['instance', 'code'],
      registers
    })
    const connectionSources = this.connectionSources
    // Registered on construction and read through the registry only.
    new Gauge({ // eslint-disable-line no-new
      name: 'homing_mqtt_connections',
      help: 'MQTT clients connected (CONNACK 0 sent, not yet closed), by instance',
      labelNames: ['instance'],
      registers,
      collect () {
        this.reset()
        for (const source of connectionSources) this.inc({ instance: source.instanceId }, source.count())
      }
    })
    this.sockets = new Gauge({
      name: 'homing_transport_sockets',
      help: 'Open device sockets of the broker listeners, by transport, CONNECT or not',
      labelNames: ['transport'],
      registers
    })
    this.notifies = new Counter({
      name: 'homing_notify_total',
      help: 'thing/bootstrap/notify messages sent to devices distributed away while online',
      labelNames: ['instance'],
      registers
    })
    this.notifyReplies = new Counter({
      name: 'homing_notify_replies_total',
      help: 'notify_reply answers received within the wait',
      labelNames: ['instance'],
      registers
    })
    this.kicks = new Counter({
      name: 'homing_kicks_total',
      help: 'Devices disconnected after a move',
      labelNames: ['instance'],
      registers
    })
    this.deviceStateChanges = new Counter({
      name: 'homing_device_state_changes_total',
      help: 'Devices disabled or enabled through the API, by action (disable, enable); a repeated request that changes nothing is not counted',
      labelNames: ['action'],
      registers
    })
    this.deviceDisconnects = new Counter({
      name: 'homing_device_disconnects_total',
      help: 'Devices disconnected by a broker node because they were disabled or deleted, by instance and reason (disabled, deleted)',
      labelNames: ['instance', 'reason'],
      registers
    })
    this.limitCloses = new Counter({
      name: 'homing_mqtt_limit_closes_total',
      help: 'Device connections closed by a broker limit, by instance and reason (preauth_bytes, packet_size, payload_size, outgoing_queue, publish_rate, record_missing)',
      labelNames: ['instance', 'reason'],
      registers
    })
    this.connectLockouts = new Counter({
      name: 'homing_mqtt_connect_lockouts_total',
      help: 'CONNECTs refused with 3 because their device or client address failed too often, by instance and scope (device, address)',
      labelNames: ['instance', 'scope'],
      registers
    })
    this.moveStreamErrors = new Counter({
      name: 'homing_move_stream_errors_total',
      help: 'Failed reads of the instance move stream by a broker node, by instance and kind (nogroup: the consumer group was gone; read: any other failure)',
      labelNames: ['instance', 'kind'],
      registers
    })
    this.moveGroupsRecreated = new Counter({
      name: 'homing_move_groups_recreated_total',
      help: 'Move-stream consumer groups a broker node re-created after the registry lost them',
      labelNames: ['instance'],
      registers
    })
    this.registryErrors = new Counter({
      name: 'homing_registry_errors_total',
      help: 'Registry calls that failed because the registry was unreachable, by store method',
      labelNames: ['op'],
      registers
    })
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** A broker node's live client count, read at each scrape; the returned function stops it. */
  countConnections (instanceId: string, count: () => number): () => void {
    const source = { instanceId, count }
    this.connectionSources.add(source)
    return () => { this.connectionSources.delete(source) }
  }

  /** docs/protocol.md, "Notify and reply": what a kick did, counted per instance. */
  kicked (instanceId: string, report: KickReport): void {
    if (report.notified) this.notifies.inc({ instance: instanceId })
    if (report.answered) this.notifyReplies.inc({ instance: instanceId })
    if (report.disconnected) this.kicks.inc({ instance: instanceId })
  }

  /** A disabled or deleted device's connections at this instance were closed. */
  disconnected (instanceId: string, reason: DisconnectReason): void {
    this.deviceDisconnects.inc({ instance: instanceId, reason })
  }

  get contentType (): string {
    return this.registry.contentType
  }

  /** The Prometheus text exposition. */
  render (): Promise<string> {
    return this.registry.metrics()
  }
}
