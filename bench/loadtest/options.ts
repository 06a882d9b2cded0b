// `homing loadtest` options: every one documented in --help, each checked with a clear error.
import { Command, InvalidArgumentError, Option } from 'commander'
import type { ClientIdForm } from '../../device/credentials.js'
import { SIGN_METHODS, type SignMethod } from '../../shared/sign.js'

/** This machine caps a process at 20,000 open files; a worker stays well under it. */
export const MAX_PER_WORKER = 15_000
export const DEFAULT_PER_WORKER = 12_000

/** `client`: one mqtt.js DeviceClient per device; `light`: raw sockets and mqtt-packet, the same bytes (light-device.ts). */
export const DEVICE_MODES = ['client', 'light'] as const
export type DeviceMode = typeof DEVICE_MODES[number]

export interface LoadtestOptions {
  url: string
  token?: string
  instance?: string
  product?: string
  certificates?: string
  saveCertificates?: string
  devices: number
  workers?: number
  sources: string[]
  ramp: number
  inFlight: number
  duration: number
  publishRate: number
  keepalive: number
  form: ClientIdForm
  signMethod?: SignMethod
  /** Default `client`. */
  deviceMode?: DeviceMode
  connectTimeout: number
  backoffBase: number
  backoffCap: number
  ca?: string
  mqttTls: boolean
  json?: string
  progress: boolean
}

export const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => (value: string): number => {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}"`)
  const n = Number(value)
  if (n < min || n > max) throw new InvalidArgumentError(`expected ${min}..${max}, got ${n}`)
  return n
}

export const positive = (value: string): number => {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`)
  return n
}

/**
 * `--sources 3` means 127.0.0.2, 127.0.0.3, 127.0.0.4 (127.0.0.1 is left to the servers);
 * `--sources 127.0.0.5,127.0.0.6` names them; 0 lets the OS choose.
 */
export function parseSources (value: string): string[] {
  const v = value.trim()
  if (/^\d+$/.test(v)) {
    const n = Number(v)
    if (n > 250) throw new InvalidArgumentError(`at most 250 loopback sources, got ${n}`)
    return Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`)
  }
  const list = v.split(',').map(s => s.trim()).filter(s => s !== '')
  for (const a of list) {
    const parts = a.split('.')
    if (parts.length !== 4 || parts.some(p => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new InvalidArgumentError(`"${a}" is not an IPv4 address`)
  }
  if (list.length === 0) throw new InvalidArgumentError('expected a count or a comma-separated list of IPv4 addresses')
  return list
}

export function parseUrl (value: string): string {
  let u: URL
  try {
    u = new URL(value)
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL (e.g. http://127.0.0.1:8080)`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('http:// or https:// only')
  return u.origin
}

/** Options that make sense only together; returns the first problem, or null. */
export function checkOptions (o: LoadtestOptions): string | null {
  if (o.certificates === undefined) {
    if (o.token === undefined || o.token === '') return '--token (or HOMING_TOKEN) is needed to create devices; or give --certificates FILE'
    if (o.instance === undefined) return '--instance is needed to create devices; or give --certificates FILE'
  }
  if (o.workers !== undefined && Math.ceil(o.devices / o.workers) > MAX_PER_WORKER) {
    return `--workers ${o.workers} puts ${Math.ceil(o.devices / o.workers)} devices in a worker; at most ${MAX_PER_WORKER} (use --workers ${Math.ceil(o.devices / MAX_PER_WORKER)} or more)`
  }
  if (o.backoffBase > o.backoffCap) return '--backoff-base is larger than --backoff-cap'
  return null
}

/** Workers for `devices` when --workers is not given: one per 12,000 devices. */
export function workerCount (devices: number, workers?: number): number {
  return workers ?? Math.max(1, Math.ceil(devices / DEFAULT_PER_WORKER))
}

export function loadtestCommand (): Command {
  return new Command('loadtest')
    .description('Simulate many devices end to end: bootstrap, signed CONNECT, hold, publish, follow notify to the new home')
    .requiredOption('--url <url>', 'bootstrap sidecar base URL (also the REST API when devices are created)', parseUrl)
    .option('--token <token>', 'account bearer token for creating devices (default: $HOMING_TOKEN)', process.env.HOMING_TOKEN)
    .option('--instance <id>', 'instance to create the devices in')
    .option('--product <productKey>', 'existing product to create the devices under (default: a new product)')
    .option('--certificates <file>', 'CSV of productKey,deviceName,deviceSecret to use instead of creating devices')
    .option('--save-certificates <file>', 'write the certificates of the devices created to this CSV')
    .option('-n, --devices <n>', 'number of simulated devices (with --certificates: at most the rows in the file)', integer(1, 1_000_000), 100)
    .option('--workers <n>', `worker processes (default: one per ${DEFAULT_PER_WORKER} devices; each holds at most ${MAX_PER_WORKER})`, integer(1, 64))
    .addOption(new Option('--sources <n|list>', 'loopback source addresses for the sockets: a count (127.0.0.2 upwards) or a list; 0 = OS default').argParser(parseSources).default([], 'OS default'))
    .option('--ramp <per-second>', 'device starts per second, all workers together (0 = no limit but --in-flight)', positive, 1000)
    .option('--in-flight <n>', 'devices bootstrapping or connecting at once, all workers together', integer(1), 200)
    .option('--duration <seconds>', 'how long to hold the connections once all devices have started', positive, 30)
    .option('--publish-rate <per-second>', 'property posts per second over all connected devices (QoS 0)', positive, 0)
    .option('--keepalive <seconds>', 'MQTT keepalive (the Link SDK uses 1200)', integer(30, 1200), 1200)
    .addOption(new Option('--form <form>', 'clientId form').choices(['link-sdk-c', 'node-sdk', 'doc']).default('link-sdk-c'))
    .addOption(new Option('--sign-method <method>', 'signmethod (default: the form\'s)').choices(Object.keys(SIGN_METHODS)))
    .addOption(new Option('--device-mode <mode>', 'client: an mqtt.js client per device; light: raw sockets and mqtt-packet, same bytes, less CPU per device').choices([...DEVICE_MODES]).default('client'))
    .option('--connect-timeout <ms>', 'time to wait for CONNACK', integer(100), 30_000)
    .option('--backoff-base <ms>', 'first back-off ceiling after a failure (jittered)', integer(1), 1000)
    .option('--backoff-cap <ms>', 'largest back-off ceiling', integer(1), 30_000)
    .option('--ca <file>', 'CA certificate (PEM) for an https bootstrap URL and --mqtt-tls')
    .option('--mqtt-tls', 'connect MQTT over TLS (securemode=2)', false)
    .option('--json <file>', 'write the JSON summary to this file')
    .option('--no-progress', 'no progress bar (plain lines are printed when stdout is not a terminal)')
}
