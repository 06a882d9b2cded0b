// docs/distribution.md, "Rule 10": a cross-account job carries the destination owner's verification code, which is
// used up when the job is accepted. Wrong, reused and expired codes are refused alike; five wrong
// tries void the pair's pending codes and further requests get 429 with Retry-After.
import t from 'tap'
import { startRedisSidecar } from './helpers/redis-sidecar.js'
import { TOKENS } from './helpers/test-sidecar.js'

const ts = await startRedisSidecar(t, 'codes-life')
const { acme, globex } = ts
let now = Date.UTC(2031, 5, 1)
ts.sidecar.clock = () => now

const PK = 'a1CodeLife1'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK })
await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['life-0001', 'life-0002', 'life-0003'] })

/** A cross-account job from acme to globex's instance. */
const job = (verificationCode: string | undefined, deviceNames = ['life-0001']) => acme('POST', '/distribution/jobs', {
  method: 'cross-account',
  policy: 'region',
  sourceInstanceId: 'iot-sh-1',
  productKey: PK,
  deviceNames,
  targetAccount: 'globex',
  targetInstanceId: 'iot-gx-1',
  ...(verificationCode === undefined ? {} : { verificationCode })
})

/** Acme asks for a code; globex's owner reads it (the newest addressed to it). */
async function newCode (): Promise<string> {
  const sent = await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' })
  if (sent.status !== 202) throw new Error(`code refused: ${sent.text}`)
  const codes = (await globex('GET', '/distribution/verification-codes')).json.codes as { code: string, createdAt: number }[]
  return codes.sort((a, b) => b.createdAt - a.createdAt)[0]!.code
}

const wrongFor = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(6, '0')
const jobCount = async (): Promise<number> => (await acme('GET', '/distribution/jobs')).json.total

t.test('a job without a code is refused, and stores nothing', async t => {
  const res = await job(undefined)
  t.equal(res.status, 400)
  t.equal(res.json.error.field, 'verificationCode')
  t.equal(await jobCount(), 0)
})

t.test('a wrong code is refused with 403 and the right one still works; then it is used up', async t => {
  const code = await newCode()
  const wrong = await job(wrongFor(code))
  t.equal(wrong.status, 403)
  t.match(wrong.json.error, { code: 'verification_failed', field: 'verificationCode', message: /wrong, expired or already used/ })
  t.equal(await jobCount(), 0, 'nothing stored')

  const accepted = await job(code)
  t.equal(accepted.status, 202)
  t.same((await globex('GET', '/distribution/verification-codes')).json.codes, [], 'no longer listed once used')

  const reused = await job(code, ['life-0002'])
  t.equal(reused.status, 403, 'a used code is refused like a wrong one')
  t.equal(reused.json.error.code, 'verification_failed')
  t.equal(await jobCount(), 1)
})

t.test('a code expires five minutes after it was made (the test moves the sidecar\'s clock)', async t => {
  const code = await newCode()
  now += 5 * 60_000
  const expired = await job(code, ['life-0002'])
  t.equal(expired.status, 403)
  t.equal(expired.json.error.code, 'verification_failed')
  t.equal(await jobCount(), 1)
  const fresh = await newCode()
  now += 5 * 60_000 - 1
  t.equal((await job(fresh, ['life-0002'])).status, 202, 'a millisecond before five minutes it still works')
})

t.test('a job refused for another reason does not use the code up', async t => {
  const code = await newCode()
  const refused = await acme('POST', '/distribution/jobs', {
    method: 'cross-account',
    policy: 'region',
    sourceInstanceId: 'iot-sh-1',
    productKey: 'a1NoSuchPk1',
    deviceNames: ['life-0003'],
    targetAccount: 'globex',
    targetInstanceId: 'iot-gx-1',
    verificationCode: code
  })
  t.equal(refused.status, 400)
  t.same((await globex('GET', '/distribution/verification-codes')).json.codes.map((c: { code: string }) => c.code), [code], 'still pending')
  // Used here so that the brute-force test below starts with a clean count.
  t.equal((await job(code, ['life-0003'])).status, 202)
})

t.test('five wrong codes void the pair\'s pending codes; then requests get 429 with Retry-After until the lock ends', async t => {
  const code = await newCode()
  const other = await newCode()
  const guesses = Array.from({ length: 10 }, (_, d) => String(d).repeat(6)).filter(g => g !== code && g !== other).slice(0, 5)
  for (let i = 0; i < 4; i++) {
    const res = await job(guesses[i])
    t.equal(res.status, 403, `wrong try ${i + 1}`)
    t.match(res.json.error.message, `${4 - i} tries left`)
  }
  const fifth = await job(guesses[4])
  t.equal(fifth.status, 429, 'the fifth wrong try voids')
  t.equal(fifth.json.error.code, 'too_many_requests')
  t.equal(fifth.headers.get('retry-after'), String(15 * 60))
  t.same((await globex('GET', '/distribution/verification-codes')).json.codes, [], 'both pending codes are void')

  now += 60_000
  const right = await job(code)
  t.equal(right.status, 429, 'even the code that was right is not taken now')
  t.equal(right.headers.get('retry-after'), String(14 * 60))
  const ask = await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' })
  t.equal(ask.status, 429, 'nor is a new code issued')
  t.ok(Number(ask.headers.get('retry-after')) > 0)
  t.equal(await jobCount(), 3, 'no job was stored meanwhile')

  now += 14 * 60_000
  t.equal((await job(code)).status, 403, 'once the lock ends, a voided code stays void')
  const fresh = await newCode()
  t.equal((await job(fresh, ['life-0002'])).status, 202, 'and a new code works')
})

t.test('codes are per pair: globex\'s code for acme does not open acme\'s job to globex', async t => {
  const sent = await globex('POST', '/distribution/verification-codes', { targetAccount: 'acme' })
  t.equal(sent.status, 202)
  const [forAcme] = (await acme('GET', '/distribution/verification-codes')).json.codes
  t.equal((await job(forAcme.code)).status, 403, 'a code addressed to acme is no code for a job to globex')
})

t.test('no log line carries a code or a token', async t => {
  for (const line of ts.lines) {
    const { pid: _pid, time: _time, ...rest } = JSON.parse(line) as Record<string, unknown>
    t.notMatch(JSON.stringify(rest), /"verificationCode":"\d/, 'no verificationCode field')
    t.notOk(line.includes(TOKENS.acme) || line.includes(TOKENS.globex))
  }
})
