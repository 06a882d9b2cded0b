// The fuzz tests' shared harness: how many cases a property runs, a real `homing` process over the
// shared Redis under a prefix of its own, and a snapshot of every key under that prefix, so a test
// can say "this refused input changed nothing in the registry" byte for byte.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { openRedisStore } from '../../shared/store/redis.js'
import type { Certificate } from '../../shared/types.js'
import { makeDevices } from './broker.js'
import { product } from './fixtures.js'
import { startHoming, type HomingProcess } from './homing-process.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './redis.js'
import { FRANKFURT, SHANGHAI } from './regions.js'
import { TOKENS } from './test-sidecar.js'

/** Cases per property: a few hundred in the suite, `npm run fuzz` sets HOMING_FUZZ_RUNS=10000. */
export const FUZZ_RUNS = Number(process.env.HOMING_FUZZ_RUNS ?? 200)

/** A quarter of the runs, at least 20: for properties that are slower or narrower. */
export const FEWER_RUNS = Math.max(20, Math.floor(FUZZ_RUNS / 4))

/** fast-check parameters for one property; HOMING_FUZZ_SEED replays a failing run. */
export function fuzzParams<T> (runs = FUZZ_RUNS): fc.Parameters<T> {
  const seed = process.env.HOMING_FUZZ_SEED
  return { numRuns: runs, ...(seed === undefined ? {} : { seed: Number(seed) }), endOnFailure: true }
}

/**
 * Keys that change on a refused input by design, counters of refusals kept in Redis (a rate
 * limiter's, a verification code's wrong guesses and the lock they end in): never part of the
 * snapshot. Matched against the key without the prefix.
 */
const VOLATILE = /^(rl|ratelimit|rate-limit|limits?)[:_]|(^|:)(failures|lock)$/i

/** A 429 that locks a pair of accounts out after too many wrong codes also voids their code, by design. */
const VOIDED_BY_LOCKOUT = /(^|:)codes:\{[^}]*\}$/

export type Snapshot = Map<string, string>

/** Every key under `prefix` with its value as DUMP serializes it (TTLs aside). */
export async function snapshot (redis: Redis, prefix: string): Promise<Snapshot> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...found.filter(k => !VOLATILE.test(k.slice(prefix.length))))
  } while (cursor !== '0')
  const out: Snapshot = new Map()
  if (keys.length === 0) return out
  const pipeline = redis.pipeline()
  for (const key of keys) pipeline.dumpBuffer(key)
  const dumps = await pipeline.exec()
  keys.forEach((key, i) => {
    const value = dumps?.[i]?.[1] as Buffer | null | undefined
    if (value != null) out.set(key, value.toString('hex'))
  })
  return out
}

/** The keys added, removed or changed between two snapshots; empty when none. */
export function changes (before: Snapshot, after: Snapshot): string[] {
  const out: string[] = []
  for (const [key, value] of after) {
    if (!before.has(key)) out.push(`+${key}`)
    else if (before.get(key) !== value) out.push(`~${key}`)
  }
  for (const key of before.keys()) if (!after.has(key)) out.push(`-${key}`)
  return out
}

export interface FuzzDeployment {
  keyPrefix: string
  redis: Redis
  /** `homing bootstrap` (with its job runner) and, when asked, `homing broker` of instance iot-sh-1. */
  sidecar: HomingProcess
  broker: HomingProcess | null
  url: string
  httpPort: number
  mqttPort: number
  /** Both processes still running. */
  alive: () => boolean
  snapshot: () => Promise<Snapshot>
  close: () => Promise<void>
}

/** The test sidecar's topology (two accounts, three instances) on Redis, as real processes. */
export async function startFuzzDeployment (label: string, opts: { broker?: boolean } = {}): Promise<FuzzDeployment> {
  const keyPrefix = uniquePrefix(label)
  const dir = mkdtempSync(join(tmpdir(), 'homing-fuzz-'))
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify({
    redis: REDIS_URL,
    keyPrefix,
    bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 50 },
    broker: { notifyTimeoutMs: 300 },
    regions: [SHANGHAI, FRANKFURT],
    accounts: [
      { id: 'acme', name: 'Acme Ltd', token: TOKENS.acme },
      { id: 'globex', name: 'Globex Corp', token: TOKENS.globex }
    ],
    instances: [
      { id: 'iot-sh-1', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port: 1884 }, listen: { host: '127.0.0.1', mqtt: 0 } },
      { id: 'iot-de-1', region: 'eu-central-1', account: 'acme', endpoint: { host: 'mqtt.de.example.com', port: 8883, ip: '192.0.2.10' } },
      { id: 'iot-gx-1', region: 'eu-central-1', account: 'globex', endpoint: { host: 'mqtt.globex.example.com', port: 1883 } }
    ]
  }))
  // The environment's settings would override the file: the test decides.
  const env = { REDIS_URL: '', KEY_PREFIX: '', MQTT_PORT: '', HOMING_CONFIG: '' }
  const sidecar = startHoming(['bootstrap', '--config', file, '--port', '0'], env)
  const broker = opts.broker === true ? startHoming(['broker', '--config', file, '--instance', 'iot-sh-1', '--mqtt-port', '0', '--node', `${label}-node`], env) : null
  const redis = new Redis(REDIS_URL)
  const close = async (): Promise<void> => {
    sidecar.kill()
    broker?.kill()
    await Promise.all([sidecar.exited, broker?.exited])
    redis.disconnect()
    await dropPrefix(keyPrefix)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const started = await within(20_000, 'homing bootstrap did not log "listening"', sidecar.logged('listening'))
    const brokerStarted = broker === null ? null : await within(20_000, 'homing broker did not log "listening"', broker.logged('listening'))
    const running = (p: HomingProcess | null): boolean => p === null || (p.child.exitCode === null && p.child.signalCode === null)
    const httpPort = started.port as number
    return {
      keyPrefix,
      redis,
      sidecar,
      broker,
      url: `http://127.0.0.1:${httpPort}`,
      httpPort,
      mqttPort: (brokerStarted?.ports?.mqtt ?? brokerStarted?.port ?? 0) as number,
      alive: () => running(sidecar) && running(broker),
      snapshot: () => snapshot(redis, keyPrefix),
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** `promise`, or a rejection naming what did not happen within `ms`. */
export async function within<T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Strings that break parsers and validators: huge, control and non-BMP characters, prototype names. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string(), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  {
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '\u0000', '\uFEFF', '\uD800', '../../etc/passwd',
      '%00', '%', '%zz', '*', '#', '+', '$', '{{', '\r\n', 'null', 'undefined', 'NaN', '-1', '1e309', 'iot-sh-1', 'acme'),
    weight: 3
  },
  { arbitrary: fc.constantFrom(300, 5000, 70_000, 1_100_000).map(n => 'x'.repeat(n)), weight: 1 }
)

/** Any JSON value, leaning towards wrong types, deep nesting and prototype keys. */
export const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 4 },
  { arbitrary: nastyString, weight: 3 },
  { arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, -0, 1e308, [], {}), weight: 2 },
  { arbitrary: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a'), fc.jsonValue({ maxDepth: 2 })), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 50 }).map(depth => nest(depth, 'x')), weight: 1 }
)

/** `depth` levels of arrays and objects around `inner`. */
export function nest (depth: number, inner: unknown): unknown {
  let v = inner
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v }
  return v
}

/** JSON text nested `depth` deep, built as text (JSON.stringify would recurse as deep). */
export function deepJsonText (depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}

export const FUZZ_PK = 'pkFuzz01'
export const FUZZ_DEVICES = ['dev-0001', 'dev-0002', 'dev-0003', 'dev-0004']

/** A product at iot-sh-1 with a few devices there, written straight into the registry. */
export async function seed (deployment: FuzzDeployment): Promise<Certificate[]> {
  const store = await openRedisStore({ url: REDIS_URL, keyPrefix: deployment.keyPrefix })
  try {
    const now = Date.now()
    await store.createProduct(product(FUZZ_PK, 'iot-sh-1', { name: 'Fuzz', createdAt: now, updatedAt: now }))
    return await makeDevices(store, FUZZ_PK, FUZZ_DEVICES, 'iot-sh-1')
  } finally {
    await store.close()
  }
}

export interface Answer {
  status: number
  text: string
}

/** One HTTP request with a body of any bytes; the answer, or a rejection after `ms`. */
export async function send (url: string, init: { method: string, headers?: Record<string, string>, body?: string | Uint8Array }, ms = 10_000): Promise<Answer> {
  const body = typeof init.body === 'string' || init.body === undefined ? init.body : new Uint8Array(init.body)
  const res = await fetch(url, { ...init, body, signal: AbortSignal.timeout(ms) })
  return { status: res.status, text: await res.text() }
}

/** The answer is JSON (every answer of the sidecar is). */
export function isJson (text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/**
 * Runs `check` over FUZZ_RUNS (or `runs`) generated inputs; `check` throws saying what went wrong.
 * One tap assertion: passes, or fails with fast-check's shrunk counterexample and its seed.
 */
export async function property<T> (t: Test, what: string, arbitrary: fc.Arbitrary<T>, check: (input: T) => Promise<void>, opts: { runs?: number, examples?: T[] } = {}): Promise<void> {
  const started = Date.now()
  const params = { ...fuzzParams<[T]>(opts.runs), examples: (opts.examples ?? []).map(e => [e] as [T]) }
  const details = await fc.check(fc.asyncProperty(arbitrary, async input => { await check(input) }), params)
  if (!details.failed) {
    t.pass(`${what}: ${details.numRuns} cases in ${Date.now() - started} ms`)
    return
  }
  const example = short(fc.stringify(details.counterexample))
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  t.fail(`${what}: failed after ${details.numRuns} cases (seed ${details.seed}, path "${details.counterexamplePath ?? ''}"): ${short(error)}\n  input: ${example}`)
}

function short (text: string, max = 1500): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`
}

/** Throws `message` unless `ok`. */
export function expect (ok: boolean, message: string): void {
  if (!ok) throw new Error(message)
}

/**
 * One HTTP case: the process stays up, the answer is JSON and not a 5xx, and a refusal (4xx, or no
 * answer at all) leaves every key under the prefix as it was. `request` resolves null when the
 * server gave no answer (a connection it closed, e.g. on a truncated body).
 */
export async function httpCase (d: FuzzDeployment, request: () => Promise<Answer | null>): Promise<Answer | null> {
  const before = await d.snapshot()
  const answer = await request().catch(async (err: unknown) => {
    // A connection reset by a process that died: say so rather than "fetch failed".
    await new Promise(resolve => setTimeout(resolve, 100))
    if (d.alive()) throw err
    return null
  })
  expect(d.alive(), `a process exited:\n${d.sidecar.stderr().slice(-2000)}${d.broker?.stderr().slice(-2000) ?? ''}`)
  if (answer !== null) {
    expect(answer.status < 500, `answered ${answer.status}: ${answer.text.slice(0, 300)}`)
    expect(isJson(answer.text), `answered ${answer.status} with a body that is not JSON: ${JSON.stringify(answer.text.slice(0, 200))}`)
  }
  if (answer === null || answer.status >= 400) {
    const changed = changes(before, await d.snapshot()).filter(k => answer?.status !== 429 || !VOIDED_BY_LOCKOUT.test(k.slice(1)))
    expect(changed.length === 0, `refused (${answer?.status ?? 'no answer'}) but the registry changed: ${changed.slice(0, 5).join(' ')}`)
  } else {
    await settle(d)
    expect(await quiet(d), 'the registry was still changing 3 s after an accepted request')
  }
  return answer
}

/**
 * Waits until the registry stops changing (two snapshots 30 ms apart agree), for at most `tries`
 * of them; says whether it did. An accepted request may still write after its answer (the sidecar
 * writes a device's `bootstrapped` timeline event after answering, batched), and the next case's
 * "nothing changed" must not see that write.
 */
export async function quiet (d: FuzzDeployment, tries = 100): Promise<boolean> {
  let last = await d.snapshot()
  for (let i = 0; i < tries; i++) {
    await new Promise(resolve => setTimeout(resolve, 30))
    const now = await d.snapshot()
    if (changes(last, now).length === 0) return true
    last = now
  }
  return false
}

/** Waits until no job of either account is still running (an accepted job changes the registry as it runs). */
export async function settle (d: FuzzDeployment): Promise<void> {
  for (let i = 0; i < 300; i++) {
    let running = 0
    for (const token of Object.values(TOKENS)) {
      for (const status of ['initializing', 'distributing']) {
        const res = await send(`${d.url}/api/v1/distribution/jobs?status=${status}`, { method: 'GET', headers: { authorization: `Bearer ${token}` } })
        running += (JSON.parse(res.text) as { total: number }).total
      }
    }
    if (running === 0) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error('accepted jobs were still running after 15 s')
}
