// The one configuration file (docs/configuration.md, "Configuration"), validated at start.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { DEVICE_EVENTS_KEPT } from './device-events.js'
import type { Account, Instance, Region } from './types.js'

const port = z.number().int().min(0).max(65535)
const name = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "." and "-" only')

const endpoint = z.strictObject({
  host: z.string().min(1),
  port: port.min(1),
  ip: z.ipv4().optional()
})

const listen = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  mqtt: port.optional(),
  mqtts: port.optional(),
  ws: port.optional(),
  wss: port.optional(),
  http: port.optional(),
  /** ws and wss: take the device's address from X-Forwarded-For (the listener sits behind a trusted HTTP proxy). */
  trustProxy: z.boolean().optional()
})

/** A limit on repeated failures from one client address: `points` failures per `windowSeconds`, then refused for `blockSeconds`. */
const failureLimit = (points: number, windowSeconds: number, blockSeconds: number) => z.strictObject({
  points: z.number().int().min(1).default(points),
  windowSeconds: z.number().int().min(1).max(86_400).default(windowSeconds),
  blockSeconds: z.number().int().min(1).max(86_400).default(blockSeconds)
}).prefault({})

/** The sidecar's limits on what clients send (docs/configuration.md). */
const limits = z.strictObject({
  /** Largest multipart job upload (form fields and CSV), in bytes; a 1,000-row CSV is under 70 KiB. */
  uploadBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
  /** Failed management API authentications per client address. */
  apiAuthFailures: failureLimit(10, 60, 300),
  /** Bootstrap look-ups of unknown devices per client address (successful bootstraps never count). */
  bootstrapFailures: failureLimit(100, 60, 60),
  /** Refusals from one address are logged once, then summarised with a count once per this many seconds. */
  logWindowSeconds: z.number().int().min(1).max(3600).default(60),
  /** Events kept per device for its timeline (docs/operations.md, "Device timeline"); older ones are dropped. */
  deviceEvents: z.number().int().min(1).max(5000).default(DEVICE_EVENTS_KEPT)
}).prefault({})

/** What one device connection may cost a broker node (docs/operations.md, "Hardening"). */
export const BROKER_LIMIT_DEFAULTS = {
  /** Largest MQTT packet (fixed header's remaining length), refused on its header: 256 KiB payload plus room. */
  maxPacketBytes: 256 * 1024 + 4096,
  /** Bytes a connection may send before its CONNECT is accepted (CONNECT and anything pipelined behind it). */
  preAuthMaxBytes: 8192,
  /** Largest PUBLISH payload; a larger one closes the connection. */
  maxPayloadBytes: 256 * 1024,
  /** Bytes written to a device and not yet taken by its socket; past this the connection is closed. */
  outgoingQueueBytes: 1024 * 1024,
  /** PUBLISH packets one device may send per window (per node); one more closes the connection. */
  publishesPerWindow: 200,
  publishWindowSec: 10,
  /**
   * Failed CONNECTs (CONNACK 2 or 4) per device, and per client address, within the window; 0 turns
   * one off (per address behind a load balancer that hides device addresses: all would share one).
   */
  connectFailuresPerDevice: 10,
  connectFailuresPerAddress: 100,
  connectFailureWindowSec: 60,
  /** How long a device or address over its limit is refused with CONNACK 3 (kept short on purpose). */
  connectLockoutSec: 10,
  /** How often the connections of this node are checked against the registry (deleted records): ms, 0 off. */
  sweepIntervalMs: 60_000
}

const positive = z.number().int().min(1)
const brokerLimits = {
  maxPacketBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(BROKER_LIMIT_DEFAULTS.maxPacketBytes),
  preAuthMaxBytes: z.number().int().min(256).max(1024 * 1024).default(BROKER_LIMIT_DEFAULTS.preAuthMaxBytes),
  maxPayloadBytes: positive.default(BROKER_LIMIT_DEFAULTS.maxPayloadBytes),
  outgoingQueueBytes: z.number().int().min(16 * 1024).default(BROKER_LIMIT_DEFAULTS.outgoingQueueBytes),
  publishesPerWindow: positive.default(BROKER_LIMIT_DEFAULTS.publishesPerWindow),
  publishWindowSec: positive.max(3600).default(BROKER_LIMIT_DEFAULTS.publishWindowSec),
  connectFailuresPerDevice: z.number().int().min(0).default(BROKER_LIMIT_DEFAULTS.connectFailuresPerDevice),
  connectFailuresPerAddress: z.number().int().min(0).default(BROKER_LIMIT_DEFAULTS.connectFailuresPerAddress),
  connectFailureWindowSec: positive.max(3600).default(BROKER_LIMIT_DEFAULTS.connectFailureWindowSec),
  connectLockoutSec: positive.max(3600).default(BROKER_LIMIT_DEFAULTS.connectLockoutSec),
  sweepIntervalMs: z.number().int().min(0).default(BROKER_LIMIT_DEFAULTS.sweepIntervalMs)
}

/** docs/configuration.md, "bootstrap": which sidecar connections stay open after an answer, and for how long. */
export const KEEP_ALIVE_DEFAULTS = { proxies: [] as string[], idleSeconds: 5, maxRequests: 100 }
const keepAlive = z.strictObject({
  /**
   * Addresses (or CIDR blocks) of the HTTP load balancers in front of the sidecar: bootstrap answers
   * to them keep the connection open. Never a device's address, nor a TCP (layer 4) balancer's:
   * those relay the answer's bytes to the device unchanged.
   */
  proxies: z.array(z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], { error: 'an IP address or a CIDR block (10.0.0.0/8)' })).max(1024).default([]),
  /** How long a connection kept open may wait for its next request. */
  idleSeconds: z.number().int().min(1).max(3600).default(KEEP_ALIVE_DEFAULTS.idleSeconds),
  /** Requests one connection may carry; the last answer closes it, anything pipelined past it is dropped. */
  maxRequests: z.number().int().min(1).max(100_000).default(KEEP_ALIVE_DEFAULTS.maxRequests)
}).prefault({})

const redisUrl = z.string().regex(/^rediss?:\/\/[^/?#]/, 'a redis:// or rediss:// URL')
/** docs/configuration.md, "Redis": one server by URL, a Redis Cluster by its startup nodes, or a Sentinel group. */
export const redisSchema = z.union([
  redisUrl,
  z.strictObject({ cluster: z.array(redisUrl).min(1), username: z.string().optional(), password: z.string().optional() }),
  z.strictObject({
    sentinels: z.array(redisUrl).min(1),
    name: z.string().min(1),
    username: z.string().optional(),
    password: z.string().optional(),
    sentinelPassword: z.string().optional()
  })
], { error: 'a redis:// URL, { "cluster": [urls] } or { "sentinels": [urls], "name": "..." }' })
export type RedisTarget = z.infer<typeof redisSchema>

export const configSchema = z.strictObject({
  redis: redisSchema.optional(),
  keyPrefix: z.string().max(64).default('homing:'),
  bootstrap: z.strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: port.default(8080),
    httpsPort: port.optional(),
    trustProxy: z.boolean().default(false),
    /** Largest accepted request body, in bytes. */
    bodyLimit: z.number().int().min(256).max(16 * 1024 * 1024).default(1024 * 1024),
    /** How often the job runner looks for unfinished jobs (ms). */
    jobPollMs: z.number().int().min(10).default(1000),
    /** Devices the job runner moves per batch (the job's counts advance once per batch). */
    jobBatchSize: z.number().int().min(1).max(10_000).default(1000),
    /** Nearest access: region used for private or unknown addresses (default: the job's first target). */
    defaultRegion: z.string().optional(),
    keepAlive
  }).default({ host: '0.0.0.0', port: 8080, trustProxy: false, bodyLimit: 1024 * 1024, jobPollMs: 1000, jobBatchSize: 1000, keepAlive: KEEP_ALIVE_DEFAULTS }),
  broker: z.strictObject({
    /**
     * docs/configuration.md, "Redis": the Redis (one server or Sentinel, not a Cluster) of the
     * broker's own cluster parts (node-to-node messages, sessions); default: `redis` when it is a URL.
     */
    redis: z.union([redisUrl, z.strictObject({ sentinels: z.array(redisUrl).min(1), name: z.string().min(1), password: z.string().optional(), sentinelPassword: z.string().optional() })]).optional(),
    /** docs/protocol.md, "Notify and reply": how long the old broker waits for notify_reply before the kick (ms). */
    notifyTimeoutMs: z.number().int().min(0).max(60_000).default(2000),
    /** docs/protocol.md, "CONNECT authentication": accepted keepalive range, seconds. */
    keepaliveMin: z.number().int().min(0).default(30),
    keepaliveMax: z.number().int().min(1).default(1200),
    /**
     * docs/protocol.md, "Topics": a PUBLISH outside the device's topics is dropped and still acknowledged
     * (`ignore`, as Mosquitto and EMQX by default) or closes the connection (`disconnect`).
     */
    deniedPublish: z.enum(['ignore', 'disconnect']).default('ignore'),
    /**
     * docs/protocol.md, "Moved devices": a device that moved away and comes back here is refused with
     * CONNACK 5 (`refuse`), or accepted, sent the notify at once and disconnected (`redirect`).
     */
    movedDevices: z.enum(['refuse', 'redirect']).default('refuse'),
    /**
     * docs/operations.md, "Connections over time": how often each node writes its connection count
     * into the registry (ms; 0: never), and how long the samples are kept (hours).
     */
    connectionSampleMs: z.number().int().min(0).max(3_600_000).refine(ms => ms === 0 || ms >= 100, 'at least 100 ms, or 0 for none').default(10_000),
    connectionHistoryHours: z.number().int().min(1).max(168).default(24),
    ...brokerLimits
  }).default({ notifyTimeoutMs: 2000, keepaliveMin: 30, keepaliveMax: 1200, deniedPublish: 'ignore', movedDevices: 'refuse', connectionSampleMs: 10_000, connectionHistoryHours: 24, ...BROKER_LIMIT_DEFAULTS }),
  limits,
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional() }).optional(),
  regions: z.array(z.strictObject({
    id: name,
    name: z.string().min(1),
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180)
  })).min(1),
  accounts: z.array(z.strictObject({
    id: name,
    name: z.string().min(1),
    token: z.string().min(16, 'at least 16 characters'),
    webhook: z.url().optional()
  })).min(1),
  instances: z.array(z.strictObject({
    id: name,
    region: z.string(),
    account: z.string(),
    endpoint,
    listen: listen.default({ host: '0.0.0.0' })
  })).min(1)
}).superRefine((c, ctx) => {
  const unique = (items: { id: string }[], path: string) => {
    const seen = new Set<string>()
    items.forEach((item, i) => {
      if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [path, i, 'id'], message: `duplicate id "${item.id}"` })
      seen.add(item.id)
    })
  }
  unique(c.regions, 'regions')
  unique(c.accounts, 'accounts')
  unique(c.instances, 'instances')
  const tokens = new Set<string>()
  c.accounts.forEach((a, i) => {
    if (tokens.has(a.token)) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'token'], message: 'token is used by another account' })
    tokens.add(a.token)
  })
  const regions = new Set(c.regions.map(r => r.id))
  const accounts = new Set(c.accounts.map(a => a.id))
  c.instances.forEach((inst, i) => {
    if (!regions.has(inst.region)) ctx.addIssue({ code: 'custom', path: ['instances', i, 'region'], message: `unknown region "${inst.region}"` })
    if (!accounts.has(inst.account)) ctx.addIssue({ code: 'custom', path: ['instances', i, 'account'], message: `unknown account "${inst.account}"` })
    for (const t of ['mqtts', 'wss'] as const) {
      if (inst.listen[t] !== undefined && !c.tls) ctx.addIssue({ code: 'custom', path: ['instances', i, 'listen', t], message: 'needs the top-level "tls" block' })
    }
  })
  if (c.bootstrap.httpsPort !== undefined && !c.tls) ctx.addIssue({ code: 'custom', path: ['bootstrap', 'httpsPort'], message: 'needs the top-level "tls" block' })
  if (c.bootstrap.defaultRegion !== undefined && !regions.has(c.bootstrap.defaultRegion)) {
    ctx.addIssue({ code: 'custom', path: ['bootstrap', 'defaultRegion'], message: `unknown region "${c.bootstrap.defaultRegion}"` })
  }
  if (c.broker.keepaliveMin > c.broker.keepaliveMax) ctx.addIssue({ code: 'custom', path: ['broker', 'keepaliveMin'], message: 'greater than keepaliveMax' })
  if (c.broker.maxPayloadBytes > c.broker.maxPacketBytes) ctx.addIssue({ code: 'custom', path: ['broker', 'maxPayloadBytes'], message: 'greater than maxPacketBytes' })
  if (c.broker.outgoingQueueBytes < c.broker.maxPacketBytes) ctx.addIssue({ code: 'custom', path: ['broker', 'outgoingQueueBytes'], message: 'smaller than maxPacketBytes' })
})

export type Config = z.infer<typeof configSchema> & {
  regions: Region[]
  accounts: Account[]
  instances: Instance[]
}

/** A config that cannot be used; the message names every bad field and is meant for the operator. */
export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** `instances[0].region` from zod's path. */
export function formatPath (path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += (out === '' ? '' : '.') + String(part)
  }
  return out
}

const list = (value: string): string[] => value.split(',').map(v => v.trim()).filter(v => v !== '')

/**
 * Environment overrides for deployment: REDIS_URL, REDIS_CLUSTER (comma-separated startup nodes),
 * REDIS_SENTINELS with REDIS_SENTINEL_NAME, REDIS_PASSWORD (for the cluster or sentinel forms), KEY_PREFIX,
 * BOOTSTRAP_PORT, BOOTSTRAP_HTTPS_PORT, HOMING_TOKEN_<ACCOUNT ID> (upper case, "-" as "_") for secrets
 * kept out of the file, and HOMING_MQTT_PORT_<INSTANCE ID> for an instance's MQTT listener (docs/configuration.md).
 */
function applyEnv (raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw }
  if (env.REDIS_URL) out.redis = env.REDIS_URL
  if (env.REDIS_CLUSTER) out.redis = { cluster: list(env.REDIS_CLUSTER) }
  if (env.REDIS_SENTINELS) out.redis = { sentinels: list(env.REDIS_SENTINELS), name: env.REDIS_SENTINEL_NAME ?? '' }
  if (env.REDIS_PASSWORD && typeof out.redis === 'object' && out.redis !== null && !Array.isArray(out.redis)) out.redis = { ...out.redis, password: env.REDIS_PASSWORD }
  if (env.KEY_PREFIX) out.keyPrefix = env.KEY_PREFIX
  const bootstrap = { ...(typeof raw.bootstrap === 'object' && raw.bootstrap !== null ? raw.bootstrap : {}) } as Record<string, unknown>
  if (env.BOOTSTRAP_PORT) bootstrap.port = Number(env.BOOTSTRAP_PORT)
  if (env.BOOTSTRAP_HTTPS_PORT) bootstrap.httpsPort = Number(env.BOOTSTRAP_HTTPS_PORT)
  if (Object.keys(bootstrap).length > 0) out.bootstrap = bootstrap
  if (Array.isArray(raw.instances)) out.instances = raw.instances.map((i: unknown) => withMqttPort(i, env))
  if (Array.isArray(raw.accounts)) {
    out.accounts = raw.accounts.map((a: unknown) => {
      if (typeof a !== 'object' || a === null) return a
      const id = (a as { id?: unknown }).id
      const token = typeof id === 'string' ? env[`HOMING_TOKEN_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] : undefined
      return token ? { ...a, token } : a
    })
  }
  return out
}

/**
 * HOMING_MQTT_PORT_<INSTANCE ID>: the port `listen.mqtt` binds; `endpoint.port` (what devices are
 * told) follows it when the two were the same port, as when devices reach the node directly.
 */
function withMqttPort (instance: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof instance !== 'object' || instance === null) return instance
  const { id, listen, endpoint } = instance as { id?: unknown, listen?: unknown, endpoint?: unknown }
  const value = typeof id === 'string' ? env[`HOMING_MQTT_PORT_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] : undefined
  if (!value) return instance
  const port = Number(value)
  const l = typeof listen === 'object' && listen !== null ? listen as Record<string, unknown> : {}
  const e = typeof endpoint === 'object' && endpoint !== null ? endpoint as Record<string, unknown> : undefined
  const follows = e !== undefined && e.port === l.mqtt
  return { ...instance, listen: { ...l, mqtt: port }, ...(follows ? { endpoint: { ...e, port } } : {}) }
}

export function parseConfig (raw: unknown, env: NodeJS.ProcessEnv = {}): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config: must be a JSON object')
  const result = configSchema.safeParse(applyEnv(raw as Record<string, unknown>, env))
  if (!result.success) {
    const lines = result.error.issues.map(i => `${formatPath(i.path) || '(top level)'}: ${i.message}`)
    throw new ConfigError(lines.join('\n'))
  }
  return result.data as Config
}

export function loadConfig (file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`)
  }
  return parseConfig(raw, env)
}

/** Lookups over the topology the config declares. */
export class Topology {
  readonly regions = new Map<string, Region>()
  readonly accounts = new Map<string, Account>()
  readonly instances = new Map<string, Instance>()

  constructor (readonly config: Config) {
    for (const r of config.regions) this.regions.set(r.id, r)
    for (const a of config.accounts) this.accounts.set(a.id, a)
    for (const i of config.instances) this.instances.set(i.id, i)
  }

  instance (id: string): Instance | undefined {
    return this.instances.get(id)
  }

  /** An account by id or by name (docs/distribution.md, "Rule 10"). */
  account (idOrName: string): Account | undefined {
    return this.accounts.get(idOrName) ?? this.config.accounts.find(a => a.name === idOrName)
  }

  instancesOf (accountId: string): Instance[] {
    return this.config.instances.filter(i => i.account === accountId)
  }
}
