// Operator commands for devices; each calls the REST API (README.md, "Management API"):
//   homing devices create PK NAME... | --count N [--instance ID]   prints the certificates (the secrets)
//   homing devices list PK [--instance ID] [--status S] [--prefix P] [--cursor C | --all] [--limit N]
//   homing devices show PK DN | certificate PK DN | delete PK DN
//   homing devices disable PK DN | enable PK DN                    disconnect it now, refuse it until enabled
//   homing devices import PK --csv FILE | --count N [--prefix NAME] many devices, certificates as CSV (devices-import.ts)
// --instance names the instance of yours to act at, needed only when the product is at several.
import { InvalidArgumentError, type Command } from 'commander'
import { action, callApi, withApiOptions, type ApiTarget } from './api-client.js'
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

const CERTIFICATE_COLUMNS: readonly Column<Certificate>[] = [
  { header: 'productKey', value: c => c.productKey },
  { header: 'deviceName', value: c => c.deviceName },
  { header: 'deviceSecret', value: c => c.deviceSecret }
]

interface ListOptions {
  status?: string
  prefix?: string
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

const INSTANCE_OPTION = ['--instance <instanceId>', 'the instance of yours the device lives at (needed only when the product is at several)'] as const

function command (parent: Command, spec: string): Command {
  return withOutput(withApiOptions(parent.command(spec))).option(...INSTANCE_OPTION)
}

export function registerDevices (program: Command): void {
  const devices = program.command('devices').description('devices of a product: create, import, list, show, certificate, delete, disable, enable')

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
    .option('--cursor <next>', 'the page after the one that printed this cursor')
    .option('--all', 'every page, one after the other')
    .option('--offset <n>', 'skip this many devices (slower than --cursor on large fleets)', whole)
    .option('--limit <n>', 'devices per page (default 100, at most 1000)', whole)
    .action(action(async (pk: string, opts: DeviceOptions & ListOptions) => {
      const page = async (cursor: string | undefined): Promise<DevicePage> => {
        const path = `/products/${encodeURIComponent(pk)}/devices${query({ instanceId: opts.instance, status: opts.status, prefix: opts.prefix, cursor, offset: opts.offset, limit: opts.limit })}`
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

  registerDevicesImport(devices)
}
