// Limits on repeated failures per client address: failed API authentications, and bootstrap look-ups
// of unknown devices. Over the limit an address gets 429 with Retry-After (for devices in the exact
// device form, docs/protocol.md); successes never count, so a fleet behind one NAT bootstraps freely; the log
// summarises refusals instead of a line each; the counts are in /metrics.
import t from 'tap'
import type { Sidecar } from '../bootstrap/context.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { ConfigError, Topology } from '../shared/config.js'
import { Metrics } from '../shared/metrics/index.js'
import { MemoryStore } from '../shared/store/memory.js'
import { product } from './helpers/fixtures.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { capturingLogger, testConfig, TOKENS } from './helpers/test-sidecar.js'

const BLOCK_SECONDS = 2
const config = testConfig({
  bootstrap: { host: '127.0.0.1', port: 0, trustProxy: true },
  limits: {
    apiAuthFailures: { points: 3, windowSeconds: 60, blockSeconds: BLOCK_SECONDS },
    bootstrapFailures: { points: 3, windowSeconds: 60, blockSeconds: BLOCK_SECONDS },
    logWindowSeconds: 1
  }
})
const store = new MemoryStore()
const metrics = new Metrics({ defaults: false })
const { log, lines } = capturingLogger()
const sidecar: Sidecar = { config, topology: new Topology(config), store, log, metrics }
const server = await startSidecar(sidecar, { port: 0 })
t.teardown(() => server.close())
const url = `http://127.0.0.1:${server.port}`

/** A management API call from `address` (the trusted proxy's X-Forwarded-For). */
async function api (address: string, token: string, path = '/instances'): Promise<{ status: number, retryAfter: string | null, json: any }> {
  const res = await fetch(`${url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}`, 'X-Forwarded-For': address } })
  return { status: res.status, retryAfter: res.headers.get('Retry-After'), json: await res.json() }
}

/** A bootstrap exactly as the Link SDK sends it, from `address`. */
async function bootstrap (address: string, deviceName: string): Promise<ReturnType<typeof readStrict>> {
  const bytes = sdkRequest(sdkForm({ productKey: PK, deviceName }))
  const withAddress = Buffer.from(bytes.toString('latin1').replace('\r\nAccept:', `\r\nX-Forwarded-For: ${address}\r\nAccept:`), 'latin1')
  return readStrict((await exchange(server.port, withAddress)).raw)
}

async function metric (name: string, limit: string): Promise<number> {
  const line = (await metrics.render()).split('\n').find(l => l.startsWith(`${name}{limit="${limit}"}`))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

const PK = 'a1LimitTest'
await store.createProduct(product(PK, 'iot-sh-1', { createdAt: 0, updatedAt: 0 }))
const FLEET = Array.from({ length: 20 }, (_, i) => `lamp-${String(i).padStart(4, '0')}`)
const { newDevice } = await import('../shared/device.js')
await store.createDevices(FLEET.map(dn => newDevice(PK, dn, 'iot-sh-1', 0)))

t.test('failed API authentications: 429 with Retry-After past the limit, for that address only, until the block ends', async t => {
  const A = '203.0.113.1'
  for (let i = 1; i <= 3; i++) t.equal((await api(A, 'wrong-token-0123456789')).status, 401, `failure ${i} is a 401`)
  const over = await api(A, 'wrong-token-0123456789')
  t.equal(over.status, 429, 'the next failure is a 429')
  t.equal(over.retryAfter, String(BLOCK_SECONDS), 'Retry-After: the block\'s seconds')
  t.equal(over.json.error.code, 'too_many_requests')
  const right = await api(A, TOKENS.acme)
  t.equal(right.status, 429, 'while blocked, even the right token is refused (no guessing oracle)')
  t.equal((await api('203.0.113.2', TOKENS.acme)).status, 200, 'another address is not affected')
  t.ok(await metric('homing_limit_failures_total', 'api_auth') >= 4, 'failures counted in /metrics')
  t.ok(await metric('homing_limit_refusals_total', 'api_auth') >= 2, 'refusals counted in /metrics')
  await new Promise(resolve => setTimeout(resolve, BLOCK_SECONDS * 1000 + 200))
  t.equal((await api(A, TOKENS.acme)).status, 200, 'after the block the address gets in again')
})

t.test('a fleet behind one address bootstraps as often as it likes: only unknown devices count', async t => {
  const NAT = '198.51.100.7'
  for (let round = 0; round < 3; round++) {
    for (const dn of FLEET) {
      const answer = await bootstrap(NAT, dn)
      if (answer.status !== 200) return t.fail(`round ${round}, ${dn}: ${answer.status} ${answer.body}`)
    }
  }
  t.pass(`${FLEET.length * 3} bootstraps from one address, all 200`)
  t.equal(await metric('homing_limit_failures_total', 'bootstrap_lookup'), 0, 'no failure counted')
})

t.test('unknown devices from one address: 429 in the exact device form, then for every device of that address', async t => {
  const SCANNER = '198.51.100.66'
  for (let i = 1; i <= 3; i++) t.equal((await bootstrap(SCANNER, `ghost-${i}000`)).status, 404, `unknown device ${i} is a 404`)
  const over = await bootstrap(SCANNER, 'ghost-4000')
  t.equal(over.status, 429)
  t.same(over.violations, [], 'the device form: compact JSON, code equal to status, exact Content-Length, short header lines')
  t.same(over.json, { code: 429, message: `too many failed look-ups from this address: retry in ${BLOCK_SECONDS} s` })
  t.equal(over.headers.get('retry-after'), String(BLOCK_SECONDS))
  t.equal((await bootstrap(SCANNER, FLEET[0] as string)).status, 429, 'a known device from the blocked address waits too (no enumeration oracle)')
  t.equal((await bootstrap('198.51.100.8', FLEET[0] as string)).status, 200, 'other addresses bootstrap')
  t.ok(await metric('homing_limit_refusals_total', 'bootstrap_lookup') >= 2)
})

t.test('a flood of refusals leaves one line per address and window, with a count', async t => {
  const FLOOD = '203.0.113.99'
  const before = lines.length
  for (let i = 0; i < 4; i++) await api(FLOOD, 'wrong-token-0123456789')
  for (let i = 0; i < 50; i++) t.equal((await api(FLOOD, 'wrong-token-0123456789')).status, 429, `refusal ${i}`)
  // Summaries come at the end of each log window (1 s here); the flood may straddle two windows.
  const deadline = Date.now() + 5000
  const summaries = (): number[] => lines.slice(before).map(l => JSON.parse(l) as { msg: string, address?: string, refused: number })
    .filter(l => l.msg === 'rate limited (summary)' && l.address === FLOOD).map(l => l.refused)
  const summed = (): number => summaries().reduce((a, b) => a + b, 0)
  while (summed() < 50 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(summed(), 50, 'the summary lines count the 50 refusals after the first')
  t.ok(summaries().length <= 2, `in at most two lines (got ${summaries().length})`)
  const loud = lines.slice(before).map(l => JSON.parse(l) as { level: number, msg: string, address?: string })
    .filter(l => l.level >= 30 && l.msg !== 'api request' && l.address === FLOOD)
  t.same(loud.map(l => l.msg.replace(/: .*/, '')), ['rate limited', ...summaries().map(() => 'rate limited (summary)')],
    'at info and above: the first refusal and the summaries, nothing per request')
  const perRequest = lines.slice(before).map(l => JSON.parse(l) as { level: number, msg: string, status?: number })
    .filter(l => l.msg === 'api request' && l.status === 429 && l.level >= 30)
  t.equal(perRequest.length, 0, 'refused requests are not logged one by one at info')
})

t.test('an IPv6 client is counted by its /64, so it cannot spray failures across its addresses', async t => {
  const host = (i: number): string => `2001:db8:77:1::${(i + 1).toString(16)}`
  for (let i = 0; i < 3; i++) t.equal((await api(host(i), 'wrong-token-0123456789')).status, 401, `${host(i)}: 401`)
  t.equal((await api(host(3), 'wrong-token-0123456789')).status, 429, `${host(3)}, the same /64: 429`)
  t.equal((await api('2001:db8:77:2::1', TOKENS.acme)).status, 200, 'another /64 is not affected')
})

t.test('the limits have defaults, and a partial block keeps the rest of them', async t => {
  t.same(testConfig().limits, {
    uploadBytes: 256 * 1024,
    apiAuthFailures: { points: 10, windowSeconds: 60, blockSeconds: 300 },
    bootstrapFailures: { points: 100, windowSeconds: 60, blockSeconds: 60 },
    logWindowSeconds: 60,
    deviceEvents: 200
  })
  t.same(testConfig({ limits: { bootstrapFailures: { points: 500 } } }).limits.bootstrapFailures, { points: 500, windowSeconds: 60, blockSeconds: 60 })
  t.throws(() => testConfig({ limits: { apiAuthFailures: { points: 0 } } }), ConfigError)
  t.throws(() => testConfig({ limits: { perAddress: 1 } }), ConfigError, 'an unknown key is refused')
})
