// The management API as operator commands call it: --url and --token (or HOMING_URL, HOMING_TOKEN).
import { Option, type Command } from 'commander'

export interface ApiTarget {
  url: string
  token: string
}

/** A non-2xx answer, or no answer at all: the message is what the operator reads on stderr. */
export class OperatorError extends Error {
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

/** Adds --url and --token to a command that calls the API. */
export function withApiOptions (command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'sidecar base URL').env('HOMING_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--token <token>', 'account bearer token').env('HOMING_TOKEN').makeOptionMandatory())
}

export async function callApi (target: ApiTarget, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
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
    throw new OperatorError(`cannot reach ${target.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
  }
  const text = await res.text()
  if (res.status < 200 || res.status > 299) throw new OperatorError(errorMessage(res.status, text), res.status)
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text }
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
      process.exitCode = 1
    }
  }
}
