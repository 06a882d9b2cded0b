// How operator commands print what the API answered: `--output table|json|csv`. A table on a
// terminal (times as local dates, not epoch milliseconds), JSON otherwise, so scripts and pipes get
// the API's own answer unchanged.
import { Option, type Command } from 'commander'

export type OutputFormat = 'table' | 'json' | 'csv'

export interface OutputOptions {
  output: OutputFormat
}

/** One column of a table or CSV: its heading and how to read it from a row. */
export interface Column<T> {
  header: string
  value: (row: T) => unknown
  /** Epoch milliseconds: shown as a date in a table, ISO 8601 in CSV. */
  time?: boolean
}

/** Adds --output to a command that prints something. */
export function withOutput (command: Command): Command {
  return command.addOption(new Option('--output <format>', 'how to print it')
    .choices(['table', 'json', 'csv'])
    .default(process.stdout.isTTY === true ? 'table' : 'json', 'table on a terminal, json otherwise'))
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** Local time, to the second: `2026-12-02 01:53:49`. */
export function humanTime (ms: number): string {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

function cell<T> (column: Column<T>, row: T, format: 'table' | 'csv'): string {
  const v = column.value(row)
  if (v === null || v === undefined) return format === 'table' ? '-' : ''
  if (column.time === true && typeof v === 'number') return format === 'table' ? humanTime(v) : new Date(v).toISOString()
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** A CSV field, quoted when it must be (RFC 4180). */
const csvField = (s: string): string => /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s

/** Rows as an aligned text table, or CSV with a header line. */
export function renderRows<T> (rows: readonly T[], columns: readonly Column<T>[], format: 'table' | 'csv'): string {
  const cells = rows.map(r => columns.map(c => format === 'table' ? cell(c, r, format).replace(/[\r\n]+/g, ' ') : cell(c, r, format)))
  const headers = columns.map(c => c.header)
  if (format === 'csv') return [headers, ...cells].map(line => line.map(csvField).join(',')).join('\n') + '\n'
  if (rows.length === 0) return '(none)\n'
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map(line => line[i]?.length ?? 0)))
  const line = (values: string[]): string => values.map((v, i) => i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(headers.map(h => h.toUpperCase())), ...cells.map(line)].join('\n') + '\n'
}

/**
 * Prints an answer: JSON as the API sent it, or its rows (`rowsOf`) as a table or CSV. `footer`
 * (tables only) says what the page does not show, e.g. `1-20 of 57`.
 */
export function printAnswer<A, T> (format: OutputFormat, answer: A, rowsOf: (a: A) => readonly T[], columns: readonly Column<T>[], footer?: (a: A) => string | null): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
    return
  }
  process.stdout.write(renderRows(rowsOf(answer), columns, format))
  const more = format === 'table' ? footer?.(answer) ?? null : null
  if (more !== null) process.stdout.write(`${more}\n`)
}

/** One object as a two-column table (field, value), or CSV with one header and one line. */
export function printOne<T> (format: OutputFormat, value: T, columns: readonly Column<T>[]): void {
  if (format !== 'table') return printAnswer(format, value, v => [v], columns)
  const width = Math.max(...columns.map(c => c.header.length))
  process.stdout.write(columns.map(c => `${c.header.padEnd(width)}  ${cell(c, value, 'table')}`).join('\n') + '\n')
}

/** `21-40 of 57` under a paged table, when the page is not everything. */
export function pageFooter (a: { total?: number, offset?: number, limit?: number }, shown: number): string | null {
  if (a.total === undefined || a.offset === undefined) return null
  if (a.offset === 0 && shown >= a.total) return null
  return shown === 0 ? `nothing from ${a.offset + 1}; ${a.total} in all` : `${a.offset + 1}-${a.offset + shown} of ${a.total} (--offset, --limit)`
}
