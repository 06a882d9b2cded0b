// Operator commands for devices; each calls the REST API (README.md, "Management API"):
//   homing devices create PK NAME... | --count N [--instance ID]   prints the certificates (the secrets)
//   homing devices list PK [--instance ID] [--status S] [--prefix P] [--tag K[=V]] [--cursor C | --all] [--limit N]
//   homing devices show PK DN | certificate PK DN | delete PK DN
//   homing devices disable PK DN | enable PK DN                    disconnect it now, refuse it until enabled
//   homing devices tags PK DN [key=value...] [--clear]             show, replace or clear its tags
//   homing devices events PK DN [--limit N]                        its timeline, newest first
//   homing devices import PK --csv FILE | --count N [--prefix NAME] many devices, certificates as CSV (devices-import.ts)
// --instance names the instance of yours to act at, needed only when the product is at several.
import { InvalidArgumentError, type Command } from 'commander'
import { action, callApi, OperatorError, withApiOptions, type ApiTarget } from './api-client.js'
import { registerDevicesImport } from './devices-import.js'
import { printAnswer, printOne, withOutput, type Column, type OutputFormat, type OutputOptions } from './output.js'

interface DeviceOptions extends ApiTarget, OutputOptions {
  instance?: string
}

interface DeviceView {
  productKey: string
  deviceName: string
  instanceId: string | null
  originInstanceId: string | null
  status: string
  enabled: boolean
  active: boolean
  online: boolean
  onlineSince: number | null
  lastConnectAt: number | null
  ipAddress: string | null
  createdAt: number
  placement: { instanceId: string, region: string } | null
}

interface Certificate {
  productKey: string
  deviceName: string
  deviceSecret: string
}

const LIST_COLUMNS: readonly Column<DeviceView>[] = [
  { header: 'deviceName', value: d => d.deviceName },
  { header: 'status', value: d => d.status },
  { header: 'instance', value: d => d.instanceId ?? 'awaiting placement' },
  { header: 'origin', value: d => d.originInstanceId },
  { header: 'lastConnect', value: d => d.lastConnectAt, time: true },
  { header: 'ip', value: d => d.ipAddress },
  { header: 'created', value: d => d.createdAt, time: true }
]

const SHOW_COLUMNS: readonly Column<DeviceView>[] = [
  { header: 'productKey', value: d => d.productKey },
  ...LIST_COLUMNS,
  { header: 'enabled', value: d => d.enabled },
  { header: 'active', value: d => d.active },
  { header: 'onlineSince', value: d => d.onlineSince, time: true },
  { header: 'placement', value: d => d.placement === null ? null : `${d.placement.instanceId} (${d.placement.region})` }
]

/** JSON as the API sent it, or one device as a field/value table or a CSV line. */
function printDevice (format: OutputFormat, device: DeviceView): void {
  if (format === 'json') printAnswer('json', device, d => [d], SHOW_COLUMNS)
  else printOne(format, device, SHOW_COLUMNS)
}

/** One event of GET .../events: `at`, `kind`, and the kind's own fields (docs/operations.md, "Device timeline"). */
type DeviceEvent = { at: number, kind: string } & Record<string, unknown>

/** The fields every event has get a column; the rest of an event is said in one `details` column. */
const EVENT_COLUMNS: readonly Column<DeviceEvent>[] = [
  { header: 'at', value: e => e.at, time: true },
  { header: 'kind', value: e => e.kind },
  { header: 'instance', value: e => e.instanceId ?? (e.kind === 'moved' ? `${String(e.from ?? '(another account)')} -> ${e.to === undefined ? '(another account)' : String(e.to ?? 'nearest access')}` : null) },
  { header: 'details', value: eventDetails }
]

function eventDetails (e: DeviceEvent): string {
  const { at: _at, kind: _kind, instanceId: _instance, from: _from, to: _to, ...rest } = e
  return Object.entries(rest).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ')
}

const CERTIFICATE_COLUMNS: readonly Column<Certificate>[] = [
  { header: 'productKey', value: c => c.productKey },
  { header: 'deviceName', value: c => c.deviceName },
  { header: 'deviceSecret', value: c => c.deviceSecret }
]

interface ListOptions {
  status?: string
  prefix?: string
  tag?: string
  cursor?: string
  all?: boolean
  offset?: number
  limit?: number
}

interface DevicePage {
  devices: DeviceView[]
  total: number
  offset: number
  limit: number
  next: string | null
  counts: Record<'total' | 'online' | 'offline' | 'inactive' | 'disabled', number>
}

const STATUSES = ['online', 'offline', 'inactive', 'disabled']

function statusArg (value: string): string {
  if (!STATUSES.includes(value)) throw new InvalidArgumentError(`one of ${STATUSES.join(', ')}`)
  return value
}

/** How many match, and how to get the next page. */
function listFooter (a: DevicePage): string | null {
  const { online, offline, inactive, disabled } = a.counts
  const counts = `${a.total} in all (online ${online}, offline ${offline}, inactive ${inactive}, disabled ${disabled})`
  if (a.next === null) return a.offset === 0 && a.devices.length >= a.total ? null : `${a.devices.length} shown of ${counts}`
  return `${a.devices.length} shown of ${counts}; next page: --cursor ${a.next}`
}

const query = (params: Record<string, string | number | undefined>): string => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v))
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

function devicePath (productKey: string, deviceName: string, verb: string, instanceId?: string): string {
  return `/products/${encodeURIComponent(productKey)}/devices/${encodeURIComponent(deviceName)}${verb === '' ? '' : `/${verb}`}${query({ instanceId })}`
}

function whole (value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number, 0 or more')
  return Number(value)
}

const TAG_COLUMNS: readonly Column<{ key: string, value: string }>[] = [
  { header: 'key', value: t => t.key },
  { header: 'value', value: t => t.value }
]

/** `key=value` arguments as the tags object the API takes; the value may hold further `=`. */
function tagsOf (pairs: string[]): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new OperatorError(`"${pair}" is not a tag: write key=value`)
    const key = pair.slice(0, at)
    if (Object.hasOwn(tags, key)) throw new OperatorError(`tag "${key}" is given twice`)
    tags[key] = pair.slice(at + 1)
  }
  return tags
}

const INSTANCE_OPTION = ['--instance <instanceId>', 'the instance of yours the device lives at (needed only when the product is at several)'] as const

function command (parent: Command, spec: string): Command {
  return withOutput(withApiOptions(parent.command(spec))).option(...INSTANCE_OPTION)
}

export function registerDevices (program: Command): void {
  const devices = program.command('devices').description('devices of a product: create, import, list, show, certificate, tags, delete, disable, enable, events')

  command(devices, 'create <productKey> [deviceNames...]')
    .description('create devices, all or none; prints their certificates (productKey, deviceName, deviceSecret) to flash onto them')
    .option('--count <n>', 'create this many with generated names instead of naming them', whole)
    .action(action(async (pk: string, names: string[], opts: DeviceOptions & { count?: number }) => {
      // The API wants the instance: without --instance, the product's own (it answers 409 when the product is at several).
      const instanceId = opts.instance ?? (JSON.parse((await callApi(opts, 'GET', `/products/${encodeURIComponent(pk)}`)).text) as { instanceId: string }).instanceId
      const body = { instanceId, ...(names.length > 0 ? { deviceNames: names } : {}), ...(opts.count === undefined ? {} : { count: opts.count }) }
      const answer = JSON.parse((await callApi(opts, 'POST', `/products/${encodeURIComponent(pk)}/devices`, body)).text) as { certificates: Certificate[] }
      printAnswer(opts.output, answer, a => a.certificates, CERTIFICATE_COLUMNS)
    }))

  command(devices, 'list <productKey>')
    .description('the devices of a product at an instance, with their status, by name; a page at a time (--cursor) or all (--all)')
    .option('--status <status>', 'only online, offline, inactive or disabled devices', statusArg)
    .option('--prefix <text>', 'only names starting with this')
    .option('--tag <key[=value]>', 'only devices with this tag (read a slice at a time: a page may come back short or empty with a next cursor)')
    .option('--cursor <next>', 'the page after the one that printed this cursor')
    .option('--all', 'every page, one after the other')
    .option('--offset <n>', 'skip this many devices (slower than --cursor on large fleets)', whole)
    .option('--limit <n>', 'devices per page (default 100, at most 1000)', whole)
    .action(action(async (pk: string, opts: DeviceOptions & ListOptions) => {
      const page = async (cursor: string | undefined): Promise<DevicePage> => {
        const path = `/products/${encodeURIComponent(pk)}/devices${query({ instanceId: opts.instance, status: opts.status, prefix: opts.prefix, tag: opts.tag, cursor, offset: opts.offset, limit: opts.limit })}`
        return JSON.parse((await callApi(opts, 'GET', path)).text) as DevicePage
      }
      let answer = await page(opts.cursor)
      // --all: page after page by cursor, printed as one listing.
      while (opts.all === true && answer.next !== null) {
        const more = await page(answer.next)
        answer = { ...more, devices: [...answer.devices, ...more.devices] }
      }
      printAnswer(opts.output, answer, a => a.devices, LIST_COLUMNS, listFooter)
    }))

  command(devices, 'show <productKey> <deviceName>')
    .description('one device: status, where it lives, when it last connected (never its secret)')
    .action(action(async (pk: string, dn: string, opts: DeviceOptions) => {
      const device = JSON.parse((await callApi(opts, 'GET', devicePath(pk, dn, '', opts.instance))).text) as DeviceView
      printDevice(opts.output, device)
    }))

  command(devices, 'certificate <productKey> <deviceName>')
    .description('the device\'s certificate again (productKey, deviceName, deviceSecret), for its owner')
    .action(action(async (pk: string, dn: string, opts: DeviceOptions) => {
      printOne(opts.output, JSON.parse((await callApi(opts, 'GET', devicePath(pk, dn, 'certificate', opts.instance))).text) as Certificate, CERTIFICATE_COLUMNS)
    }))

  command(devices, 'tags <productKey> <deviceName> [tags...]')
    .description('a device\'s tags: without key=value pairs, shows them; with them, replaces them all; --clear removes them all')
    .option('--clear', 'remove every tag')
    .action(action(async (pk: string, dn: string, pairs: string[], opts: DeviceOptions & { clear?: boolean }) => {
      if (opts.clear === true && pairs.length > 0) throw new OperatorError('--clear takes no key=value pairs: it removes every tag')
      const tags = opts.clear === true || pairs.length > 0
        ? (JSON.parse((await callApi(opts, 'PUT', devicePath(pk, dn, 'tags', opts.instance), tagsOf(pairs))).text) as { tags: Record<string, string> }).tags
        : (JSON.parse((await callApi(opts, 'GET', devicePath(pk, dn, '', opts.instance))).text) as { tags: Record<string, string> }).tags
      printAnswer(opts.output, { tags }, a => Object.entries(a.tags).map(([key, value]) => ({ key, value })), TAG_COLUMNS)
    }))

  withApiOptions(devices.command('delete <productKey> <deviceName>'))
    .description('delete a device at the instance it was created at, while it lives there (an online device is disconnected)')
    .option(...INSTANCE_OPTION)
    .action(action(async (pk: string, dn: string, opts: DeviceOptions) => {
      await callApi(opts, 'DELETE', devicePath(pk, dn, '', opts.instance))
      process.stderr.write(`deleted device ${pk}/${dn}\n`)
    }))

  const verbs = [
    ['disable', 'disable a device: it is disconnected at once, its CONNECTs get 5 and its bootstrap 403 until it is enabled'],
    ['enable', 'enable a disabled device: it may connect again at once']
  ] as const
  for (const [verb, description] of verbs) {
    command(devices, `${verb} <productKey> <deviceName>`)
      .description(description)
      .action(action(async (pk: string, dn: string, opts: DeviceOptions) => {
        const device = JSON.parse((await callApi(opts, 'POST', devicePath(pk, dn, verb, opts.instance))).text) as DeviceView
        printDevice(opts.output, device)
      }))
  }

  command(devices, 'events <productKey> <deviceName>')
    .description('the device\'s timeline, newest first: created, bootstrapped (from which address, sent where), connected, notified, answered, disconnected (and why), moved, placed, disabled, enabled, tags')
    .option('--limit <n>', 'events to show (default 100; the registry keeps the last limits.deviceEvents, 200 by default)', whole)
    .action(action(async (pk: string, dn: string, opts: DeviceOptions & { limit?: number }) => {
      const path = `/products/${encodeURIComponent(pk)}/devices/${encodeURIComponent(dn)}/events${query({ instanceId: opts.instance, limit: opts.limit })}`
      const answer = JSON.parse((await callApi(opts, 'GET', path)).text) as { events: DeviceEvent[] }
      printAnswer(opts.output, answer, a => a.events, EVENT_COLUMNS)
    }))

  registerDevicesImport(devices)
}
