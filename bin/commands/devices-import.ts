// `homing devices import`: a fleet larger than one request, created in calls of the API's limit
// (README.md, "Management API"), its certificates streamed to stdout as CSV as each call returns.
import { readFile } from 'node:fs/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { action, callApi, OperatorError, withApiOptions, type ApiTarget } from './api-client.js'

/** The API's limit per request (bootstrap/api/routes/devices.ts). */
export const IMPORT_CALL_SIZE = 10_000

const DEVICE_NAME = /^[A-Za-z0-9_@.:-]{4,32}$/

interface ImportOptions extends ApiTarget {
  instance?: string
  csv?: string
  count?: number
  prefix?: string
  skip: number
}

interface Certificate { productKey: string, deviceName: string, deviceSecret: string }

function positive (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a whole number, 1 or more')
  return Number(value)
}

function whole (value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number, 0 or more')
  return Number(value)
}

/** Names from a CSV: the `deviceName` column when the first row has one, else the first cell of each line. */
export function namesFromCsv (text: string): string[] {
  let rows: string[][]
  try {
    rows = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][]
  } catch (err) {
    throw new OperatorError(`cannot read the CSV: ${(err as Error).message}`)
  }
  const column = rows[0]?.indexOf('deviceName') ?? -1
  const names = (column >= 0 ? rows.slice(1) : rows).map(r => r[Math.max(column, 0)] ?? '')
  const bad = names.findIndex(n => !DEVICE_NAME.test(n))
  if (bad >= 0) throw new OperatorError(`row ${bad + 1 + (column >= 0 ? 1 : 0)}: "${names[bad] ?? ''}" is not a device name (4-32 characters: letters, digits and _ @ . : -)`)
  const seen = new Set<string>()
  for (const n of names) {
    if (seen.has(n)) throw new OperatorError(`"${n}" appears twice in the CSV`)
    seen.add(n)
  }
  return names
}

/** `prefix-0001` … : numbered from 1, padded to the width of `count`. */
export function generatedNames (prefix: string, count: number): string[] {
  const width = String(count).length
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, '0')}`)
  if (!DEVICE_NAME.test(names[names.length - 1] ?? '')) throw new OperatorError(`--prefix "${prefix}" makes names like "${names[0] ?? ''}" that are not device names (4-32 characters: letters, digits and _ @ . : -)`)
  return names
}

async function write (text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise<void>(resolve => process.stdout.once('drain', resolve))
}

export function registerDevicesImport (devices: Command): void {
  withApiOptions(devices.command('import <productKey>'))
    .description(`create many devices in calls of ${IMPORT_CALL_SIZE}, from a CSV of names or a count; prints the certificates as CSV as each call returns`)
    .option('--instance <instanceId>', 'the instance of yours to create them at (needed only when the product is at several)')
    .option('--csv <file>', 'device names: a CSV with a deviceName column, or one name per line')
    .option('--count <n>', 'create this many devices with generated names', positive)
    .option('--prefix <name>', 'with --count: name them <name>-0001, <name>-0002, … instead of random names')
    .option('--skip <n>', 'skip the first n names (those a failed import already created)', whole, 0)
    .action(action(async (pk: string, opts: ImportOptions) => {
      if ((opts.csv === undefined) === (opts.count === undefined)) throw new OperatorError('give either --csv FILE or --count N')
      if (opts.prefix !== undefined && opts.count === undefined) throw new OperatorError('--prefix goes with --count')
      let names: string[] | null = null
      if (opts.csv !== undefined) {
        const text = await readFile(opts.csv, 'utf8').catch((err: Error) => { throw new OperatorError(`cannot read ${opts.csv ?? ''}: ${err.message}`) })
        names = namesFromCsv(text)
      } else if (opts.prefix !== undefined) names = generatedNames(opts.prefix, opts.count ?? 0)
      const total = Math.max((names?.length ?? opts.count ?? 0) - opts.skip, 0)
      const path = `/products/${encodeURIComponent(pk)}`
      const instanceId = opts.instance ?? (JSON.parse((await callApi(opts, 'GET', path)).text) as { instanceId: string }).instanceId
      const progress = process.stderr.isTTY
      const started = Date.now()
      await write(stringify([['productKey', 'deviceName', 'deviceSecret']]))
      let created = 0
      for (let call = 1; created < total; call++) {
        const size = Math.min(IMPORT_CALL_SIZE, total - created)
        const from = opts.skip + created
        const body = names === null ? { instanceId, count: size } : { instanceId, deviceNames: names.slice(from, from + size) }
        let answer: { certificates: Certificate[] }
        try {
          answer = JSON.parse((await callApi(opts, 'POST', `${path}/devices`, body)).text) as { certificates: Certificate[] }
        } catch (err) {
          if (progress) process.stderr.write('\n')
          const rest = names === null ? `--count ${total - created}` : `--skip ${from}`
          const again = created === 0 ? ' by this run; run the same command again once the cause is fixed' : ` (their certificates are above); create the rest with the same command and ${rest}`
          throw new OperatorError(`call ${call} (devices ${from + 1}-${from + size}) failed, nothing of it was created: ${(err as Error).message}. ` +
            `${created} devices were created${again}`, (err as OperatorError).status ?? null)
        }
        await write(stringify(answer.certificates.map(c => [c.productKey, c.deviceName, c.deviceSecret])))
        created += answer.certificates.length
        if (progress) process.stderr.write(`\rcreated ${created} of ${total} (${Math.round(created / Math.max((Date.now() - started) / 1000, 0.001))}/s)`)
      }
      if (progress) process.stderr.write('\n')
      process.stderr.write(`created ${created} devices of ${pk} at ${instanceId}\n`)
    }))
}
