// docs/distribution.md, "Rule 10": a verification code for cross-account distribution goes to the destination
// account's owner (listed for its token, pushed to its webhook), never to the sender; valid five
// minutes; requests for more are limited with 429.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, testConfig, TOKENS } from './helpers/test-sidecar.js'
import { eventually } from './helpers/wait.js'

interface Hook { url: string, bodies: unknown[], close: () => Promise<void> }

/** A webhook receiver that answers `status` and keeps what it was sent. */
async function webhook (status: number): Promise<Hook> {
  const bodies: unknown[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      bodies.push({ contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) })
      res.statusCode = status
      res.end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/hooks/homing?secret=hook-secret-123`, bodies, close: () => new Promise(resolve => server.close(() => resolve())) }
}

const good = await webhook(204)
const failing = await webhook(500)
const INITECH = 'initech-token-0123456789abcdef'
const UMBRELLA = 'umbrella-token-0123456789abcdef'
const config = testConfig({
  accounts: [
    { id: 'acme', name: 'Acme Ltd', token: TOKENS.acme },
    { id: 'globex', name: 'Globex Corp', token: TOKENS.globex, webhook: good.url },
    { id: 'initech', name: 'Initech', token: INITECH, webhook: failing.url },
    { id: 'umbrella', name: 'Umbrella', token: UMBRELLA }
  ]
})
const ts = await startTestSidecar(new MemoryStore(), config)
let now = Date.UTC(2030, 0, 1)
ts.sidecar.clock = () => now
t.teardown(async () => {
  await ts.close()
  await good.close()
  await failing.close()
})
const acme = apiClient(ts.url, TOKENS.acme)
const globex = apiClient(ts.url, TOKENS.globex)
const initech = apiClient(ts.url, INITECH)
const umbrella = apiClient(ts.url, UMBRELLA)

const until = (check: () => boolean, what: string): Promise<void> => eventually(check, what, { every: 10 })

t.test('the sender gets 202 and no code; the destination\'s owner sees it, on its token and at its webhook', async t => {
  const sent = await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' })
  t.equal(sent.status, 202)
  t.same(Object.keys(sent.json).sort(), ['expiresAt', 'message', 'targetAccount'])
  t.equal(sent.json.expiresAt, now + 5 * 60_000, 'valid five minutes')

  const listed = await globex('GET', '/distribution/verification-codes')
  t.equal(listed.status, 200)
  t.equal(listed.headers.get('cache-control'), 'no-store')
  t.equal(listed.json.codes.length, 1)
  const [entry] = listed.json.codes
  t.match(entry, { sourceAccount: { id: 'acme', name: 'Acme Ltd' }, code: /^\d{6}$/, createdAt: now, expiresAt: now + 5 * 60_000 })
  t.notMatch(sent.text, entry.code, 'the code is not in the sender\'s answer')

  t.same((await acme('GET', '/distribution/verification-codes')).json.codes, [], 'the sender lists nothing')
  t.same((await umbrella('GET', '/distribution/verification-codes')).json.codes, [], 'nor does a third account')

  await until(() => good.bodies.length === 1, 'the notification to reach the webhook')
  t.same(good.bodies[0], {
    contentType: 'application/json',
    body: { type: 'distribution.verification_code', sourceAccount: { id: 'acme', name: 'Acme Ltd' }, targetAccount: { id: 'globex', name: 'Globex Corp' }, code: entry.code, createdAt: now, expiresAt: now + 5 * 60_000 }
  }, 'the webhook gets the same code as JSON')
})

t.test('the destination can be named by its account name', async t => {
  const sent = await umbrella('POST', '/distribution/verification-codes', { targetAccount: 'Acme Ltd' })
  t.equal(sent.status, 202)
  t.equal(sent.json.targetAccount, 'acme')
  t.same((await acme('GET', '/distribution/verification-codes')).json.codes.map((c: { sourceAccount: { id: string } }) => c.sourceAccount.id), ['umbrella'])
})

t.test('codes are listed only while valid (a clock the test controls)', async t => {
  const start = now
  await umbrella('POST', '/distribution/verification-codes', { targetAccount: 'globex' })
  t.equal((await globex('GET', '/distribution/verification-codes')).json.codes.length, 2)
  now = start + 5 * 60_000 - 1
  t.equal((await globex('GET', '/distribution/verification-codes')).json.codes.length, 2, 'still valid a millisecond before five minutes')
  now = start + 5 * 60_000
  t.same((await globex('GET', '/distribution/verification-codes')).json.codes, [], 'gone at five minutes')
  now = start + 10 * 60_000
})

t.test('bad requests change nothing', async t => {
  const unknown = await acme('POST', '/distribution/verification-codes', { targetAccount: 'nobody' })
  t.equal(unknown.status, 404)
  t.equal(unknown.json.error.code, 'not_found')
  const self = await acme('POST', '/distribution/verification-codes', { targetAccount: 'acme' })
  t.equal(self.status, 400)
  t.equal(self.json.error.field, 'targetAccount')
  t.equal((await acme('POST', '/distribution/verification-codes', {})).status, 400)
  t.equal((await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex', code: '123456' })).status, 400, 'unknown fields refused')
  t.equal((await apiClient(ts.url, null)('POST', '/distribution/verification-codes', { targetAccount: 'globex' })).status, 401)
  t.same((await umbrella('GET', '/distribution/verification-codes')).json.codes, [])
})

t.test('at most five valid codes per pair: the sixth request gets 429 with Retry-After until the oldest expires', async t => {
  const start = now
  for (let i = 0; i < 5; i++) {
    now = start + i * 1000
    t.equal((await acme('POST', '/distribution/verification-codes', { targetAccount: 'umbrella' })).status, 202)
  }
  const limited = await acme('POST', '/distribution/verification-codes', { targetAccount: 'umbrella' })
  t.equal(limited.status, 429)
  t.equal(limited.json.error.code, 'too_many_requests')
  t.equal(limited.headers.get('retry-after'), String(5 * 60 - 4), 'seconds until the oldest code expires')
  t.equal((await umbrella('GET', '/distribution/verification-codes')).json.codes.length, 5, 'no sixth code')
  t.equal((await globex('POST', '/distribution/verification-codes', { targetAccount: 'umbrella' })).status, 202, 'another pair is not limited')
  now = start + 5 * 60_000
  t.equal((await acme('POST', '/distribution/verification-codes', { targetAccount: 'umbrella' })).status, 202, 'room again once the oldest expired')
})

t.test('a failing webhook is tried a few times, then given up; the code stays listed and never reaches the logs', async t => {
  const sent = await acme('POST', '/distribution/verification-codes', { targetAccount: 'initech' })
  t.equal(sent.status, 202, 'the sender does not wait for the webhook')
  await until(() => ts.lines.some(l => l.includes('given up')), 'a "given up" log line for the failing webhook')
  t.equal(failing.bodies.length, 3, 'three tries, no more')
  const [listed] = (await initech('GET', '/distribution/verification-codes')).json.codes
  t.match(listed.code, /^\d{6}$/)
  const hookLines = ts.lines.filter(l => l.includes('verification code webhook') && l.includes('"initech"'))
  t.equal(hookLines.length, 4, 'three refusals and the end are logged')
  for (const line of hookLines) t.match(JSON.parse(line), { targetAccountId: 'initech', webhook: failing.url.replace(/\/hooks.*$/, '') })
})

t.test('no log line carries a code, a token or the webhook\'s secret', async t => {
  const codes = [...good.bodies, ...failing.bodies].map(b => (b as { body: { code: string } }).body.code)
  t.ok(codes.length >= 4)
  for (const line of ts.lines) {
    // pino's own numbers (pid, time) are not ours; a code would stand as a six-digit token.
    const { pid: _pid, time: _time, ...rest } = JSON.parse(line) as Record<string, unknown>
    const text = JSON.stringify(rest)
    for (const code of codes) if (new RegExp(`(?<!\\d)${code}(?!\\d)`).test(text)) t.fail(`a log line carries a code: ${text}`)
    for (const secret of [TOKENS.acme, TOKENS.globex, INITECH, UMBRELLA, 'hook-secret-123']) {
      if (line.includes(secret)) t.fail(`a log line carries a secret: ${line}`)
    }
  }
  t.ok(ts.lines.length > 10, 'there were log lines to look at')
})
