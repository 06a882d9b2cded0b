// A sidecar on a free port with a small topology: two accounts, three instances, two regions.
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { parseConfig, Topology, type Config } from '../../shared/config.js'
import { REDACT, type Logger } from '../../shared/log.js'
import type { Store } from '../../shared/store/store.js'
import type { Sidecar } from '../../bootstrap/context.js'
import { startSidecar } from '../../bootstrap/http/server.js'
import { JobRunner } from '../../bootstrap/jobs/runner.js'
import { FRANKFURT, SHANGHAI } from './regions.js'

export const TOKENS = {
  acme: 'acme-token-0123456789abcdef',
  globex: 'globex-token-0123456789abcdef'
} as const

export function testConfig (overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    bootstrap: { host: '127.0.0.1', port: 0 },
    regions: [SHANGHAI, FRANKFURT],
    accounts: [
      { id: 'acme', name: 'Acme Ltd', token: TOKENS.acme },
      { id: 'globex', name: 'Globex Corp', token: TOKENS.globex }
    ],
    instances: [
      { id: 'iot-sh-1', region: 'cn-shanghai', account: 'acme', endpoint: { host: 'mqtt.sh.example.com', port: 1883 } },
      { id: 'iot-de-1', region: 'eu-central-1', account: 'acme', endpoint: { host: 'mqtt.de.example.com', port: 8883, ip: '192.0.2.10' } },
      { id: 'iot-gx-1', region: 'eu-central-1', account: 'globex', endpoint: { host: 'mqtt.globex.example.com', port: 1883 } }
    ],
    ...overrides
  })
}

/** A logger that keeps its JSON lines in memory, with the production redaction. */
export function capturingLogger (): { log: Logger, lines: string[] } {
  const lines: string[] = []
  const sink = new Writable({
    write (chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(l => l !== ''))
      done()
    }
  })
  return { log: pino({ level: 'debug', redact: { paths: REDACT, censor: '[redacted]' } }, sink), lines }
}

export interface TestSidecar {
  sidecar: Sidecar
  port: number
  url: string
  lines: string[]
  close: () => Promise<void>
}

/** `jobs`: run a job runner beside it (polling every 50 ms), as `homing bootstrap` does; close() stops both. */
export async function startTestSidecar (store: Store, config: Config = testConfig(), opts: { jobs?: boolean } = {}): Promise<TestSidecar> {
  const { log, lines } = capturingLogger()
  const sidecar: Sidecar = { config, topology: new Topology(config), store, log }
  const server = await startSidecar(sidecar, { port: 0 })
  const runner = opts.jobs === true ? new JobRunner({ store, topology: sidecar.topology, pollMs: 50 }) : null
  runner?.start()
  const close = async (): Promise<void> => {
    await runner?.close()
    await server.close()
  }
  return { sidecar, port: server.port, url: `http://127.0.0.1:${server.port}`, lines, close }
}

export interface ApiAnswer {
  status: number
  headers: Headers
  json: any // any: tests read answers by path, and a wrong path fails the assertion anyway
  text: string
}

/** A management API client for one account. */
export function apiClient (url: string, token: string | null) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
    })
    const text = await res.text()
    let json: unknown = null
    try {
      json = text === '' ? null : JSON.parse(text)
    } catch {}
    return { status: res.status, headers: res.headers, json, text }
  }
}
