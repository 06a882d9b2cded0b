// The two CSV files of distribution: the device list a user uploads (template: productKey,deviceName)
// and the per-device records a user downloads (productKey,deviceName,code,message).
import { CsvError, parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { DEVICE_NAME } from '../../shared/device.js'
import type { JobRecord } from '../../shared/types.js'
import { badRequest } from '../http/http-error.js'

/** docs/distribution.md, "Rule 8": an upload holds at most 1,000 rows. */
export const MAX_CSV_ROWS = 1000

export const TEMPLATE_COLUMNS = ['productKey', 'deviceName'] as const
export const RECORD_COLUMNS = ['productKey', 'deviceName', 'code', 'message'] as const

export const TEMPLATE_CSV = stringify([[...TEMPLATE_COLUMNS]])

export interface DeviceList {
  productKey: string
  deviceNames: string[]
}

const where = (line: number, column?: string): string => `CSV line ${line}${column === undefined ? '' : `, column ${column}`}`

/**
 * Reads an uploaded device list. Every row names the job's product (`productKey`, or the first row's
 * when the form gives none) and a distinct device. Problems name the line (the header is line 1) and
 * the column.
 */
export function parseDeviceList (text: string, productKey?: string): DeviceList {
  let rows: { record: string[], info: { lines: number } }[]
  try {
    rows = parse(text, { bom: true, info: true, skip_empty_lines: true, trim: true, relax_column_count: true }) as unknown as { record: string[], info: { lines: number } }[]
  } catch (err) {
    if (err instanceof CsvError) {
      const e = err as CsvError & { lines?: number, column?: number | string }
      const column = typeof e.column === 'number' ? TEMPLATE_COLUMNS[e.column] : undefined
      throw badRequest(`${where(e.lines ?? 0, column)}: malformed CSV: ${err.message}`, 'file')
    }
    throw err
  }
  const [header, ...data] = rows
  if (header === undefined) throw badRequest('the CSV is empty; the first line must be "productKey,deviceName"', 'file')
  if (header.record.length !== 2 || header.record[0] !== TEMPLATE_COLUMNS[0] || header.record[1] !== TEMPLATE_COLUMNS[1]) {
    throw badRequest(`${where(header.info.lines)}: the header must be "productKey,deviceName" (got "${header.record.join(',')}")`, 'file')
  }
  if (data.length === 0) throw badRequest('the CSV lists no devices', 'file')
  if (data.length > MAX_CSV_ROWS) throw badRequest(`the CSV holds ${data.length} rows; at most ${MAX_CSV_ROWS} are allowed`, 'file')

  const expected = productKey ?? data[0]?.record[0] ?? ''
  const seen = new Map<string, number>()
  const deviceNames = data.map(({ record, info }) => {
    const line = info.lines
    if (record.length !== 2) throw badRequest(`${where(line)}: expected 2 columns (productKey,deviceName), got ${record.length}`, 'file')
    const [pk = '', dn = ''] = record
    if (pk !== expected) throw badRequest(`${where(line, 'productKey')}: "${pk}" is not the job's product ${expected}`, 'file')
    if (!DEVICE_NAME.test(dn)) throw badRequest(`${where(line, 'deviceName')}: "${dn}" is not a valid DeviceName (4-32 of letters, digits, - _ @ . :)`, 'file')
    const first = seen.get(dn)
    if (first !== undefined) throw badRequest(`${where(line, 'deviceName')}: duplicate device name "${dn}" (also on line ${first})`, 'file')
    seen.set(dn, line)
    return dn
  })
  return { productKey: expected, deviceNames }
}

/** The records download: one row per device in job order, quoted as CSV needs, no cell a formula. */
export function recordsCsv (records: JobRecord[]): string {
  return stringify(records.map(r => [r.productKey, r.deviceName, r.code, r.message].map(inert)), { header: true, columns: [...RECORD_COLUMNS] })
}

/**
 * A spreadsheet opening the file runs a cell that starts with = + - @ (or a tab or carriage return)
 * as a formula; a leading apostrophe makes it text (OWASP "CSV injection"). Device names may start
 * with `-` or `@`.
 */
export function inert (cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell
}
