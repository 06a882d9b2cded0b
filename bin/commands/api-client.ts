// The management API as operator commands call it: --url and --token (or HOMING_URL, HOMING_TOKEN).
import { Option, type Command } from 'commander'

export interface ApiTarget {
  url: string
  token: string
}

/** A non-2xx answer, or no answer at all: the message is what the operator reads on stderr. */
export class OperatorError extends Error {
  /** The process's exit code. */
  exitCode = 1
  constructor (message: string, readonly status: number | null = null) {
    super(message)
    this.name = 'OperatorError'
  }
}

export interface ApiAnswer {
  status: number
  contentType: string
  text: string
}

/** Where `npm start` (`homing up --config docker/demo.json`) serves the API. */
export const DEFAULT_URL = 'http://127.0.0.1:18080'

/** Adds --url and --token to a command that calls the API. */
export function withApiOptions (command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'sidecar base URL').env('HOMING_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'account API token (the demo\'s: demo-acme-token-change-me)').env('HOMING_TOKEN').makeOptionMandatory())
}

export async function callApi (target: ApiTarget, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  if (target.token.trim() === '') throw new OperatorError('no API token: pass --token or set HOMING_TOKEN to your account\'s API token')
  const headers: Record<string, string> = { Authorization: `Bearer ${target.token}` }
  let payload: string | FormData | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const url = `${target.url.replace(/\/+$/, '')}/api/v1${path}`
  let res: Response
  try {
    res = await fetch(url, { method, headers, body: payload })
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    throw new OperatorError(`cannot reach ${target.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}; ` +
      'is Homing running there (`npm start`, `homing up`)? Point --url or HOMING_URL at its sidecar')
  }
  const text = await res.text()
  if (res.status < 200 || res.status > 299) throw new OperatorError(errorMessage(res.status, text) + (HINTS[res.status] ?? ''), res.status)
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text }
}

/** What to do about an answer, after the API's own message. */
const HINTS: Record<number, string> = {
  401: ' (check --token or HOMING_TOKEN: the account\'s API token from the config)',
  429: ' (wait and try again)',
  503: ' (the registry is down or refusing writes: check Redis, then try again)'
}

/** The API's error body `{"error":{"code","message","field"?}}`, or the status when the body is something else. */
function errorMessage (status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown, field?: unknown } }
    if (typeof body.error?.message === 'string') return `${status}: ${body.error.message}`
  } catch {}
  return `${status}: ${text.trim() === '' ? 'request failed' : text.trim().slice(0, 200)}`
}

/** Runs a command's action; an OperatorError goes to stderr with exit code 1. */
export function action<A extends unknown[]> (fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args)
    } catch (err) {
      if (!(err instanceof OperatorError)) throw err
      process.stderr.write(`homing: ${err.message}\n`)
      process.exitCode = err.exitCode
    }
  }
}
