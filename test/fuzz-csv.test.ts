// Fuzz: CSV uploads of POST /distribution/jobs (docs/hardening.md). A valid device list with rows,
// header, quoting, line ends and sizes mutated, raw text as the file, and the multipart envelope
// itself mutated and truncated. A real `homing bootstrap` on Redis: it stays up, answers JSON and
// never 5xx, and a refusal changes nothing in the registry.
import fc from 'fast-check'
import t from 'tap'
import { FEWER_RUNS, FUZZ_DEVICES, FUZZ_PK, httpCase, nastyString, property, seed, send, startFuzzDeployment } from './helpers/fuzz.js'
import { TOKENS } from './helpers/test-sidecar.js'

const d = await startFuzzDeployment('fuzz-csv')
t.teardown(() => d.close())
await seed(d)

const BOUNDARY = 'fuzzBoundary7MA4YWxkTrZu0gW'
const FIELDS: [string, string][] = [['method', 'this-account'], ['policy', 'region'], ['sourceInstanceId', 'iot-sh-1'], ['targetInstanceId', 'iot-de-1']]

function part (name: string, value: string): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
}

function multipart (csv: string | Uint8Array, fields: [string, string][] = FIELDS): Buffer {
  const head = fields.map(([n, v]) => part(n, v)).join('') +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="devices.csv"\r\nContent-Type: text/csv\r\n\r\n`
  return Buffer.concat([Buffer.from(head), Buffer.from(csv), Buffer.from(`\r\n--${BOUNDARY}--\r\n`)])
}

const upload = (body: Uint8Array, contentType = `multipart/form-data; boundary=${BOUNDARY}`) => () => send(`${d.url}/api/v1/distribution/jobs`, {
  method: 'POST',
  headers: { authorization: `Bearer ${TOKENS.acme}`, 'content-type': contentType },
  body
})

const cell = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: nastyString.map(s => s.slice(0, 2000)), weight: 1 })
const quoted = (s: string, how: number): string => how === 0 ? s : how === 1 ? `"${s.replace(/"/g, '""')}"` : `"${s}`

/** A device list: header, rows of cells (mostly valid), line ends, quoting, a BOM, sometimes over 1,000 rows. */
const csvText = fc.record({
  header: fc.oneof({ arbitrary: fc.constant<string[]>(['productKey', 'deviceName']), weight: 4 }, { arbitrary: fc.array(cell(fc.constantFrom('productKey', 'deviceName')), { maxLength: 3 }), weight: 1 }),
  rows: fc.oneof(
    { arbitrary: fc.array(fc.array(cell(fc.constantFrom(FUZZ_PK, ...FUZZ_DEVICES)), { minLength: 1, maxLength: 3 }), { maxLength: 8 }), weight: 5 },
    { arbitrary: fc.integer({ min: 999, max: 1200 }).map(n => Array.from({ length: n }, (_, i) => [FUZZ_PK, `bulk-${i}`])), weight: 1 }
  ),
  eol: fc.constantFrom('\n', '\r\n', '\r', '\n\n', ''),
  quoting: fc.nat(2),
  bom: fc.boolean()
}).map(({ header, rows, eol, quoting, bom }) => (bom ? '\uFEFF' : '') + [header, ...rows].map(r => r.map(c => quoted(c, quoting)).join(',')).join(eol === '' ? '\n' : eol) + eol)

t.test('a valid upload is accepted', async t => {
  const answer = await httpCase(d, upload(multipart(`productKey,deviceName\n${FUZZ_PK},dev-0001\n`)))
  t.equal(answer?.status, 202, answer?.text ?? 'no answer')
})

t.test('mutated device lists: up, JSON, no 5xx, a refusal changes nothing', async t => {
  await property(t, 'mutated device lists', csvText, async csv => {
    await httpCase(d, upload(multipart(csv)))
  })
})

t.test('raw text and bytes as the file: up, JSON, no 5xx, nothing changed', async t => {
  const file = fc.oneof(fc.string().map(s => Buffer.from(s)), fc.uint8Array({ maxLength: 1024 }), fc.string({ unit: 'binary' }).map(s => Buffer.from(s)))
  await property(t, 'raw files', file, async bytes => {
    await httpCase(d, upload(multipart(bytes)))
  })
})

t.test('mutated form fields and envelopes: up, JSON, no 5xx, nothing changed', async t => {
  const fields = fc.array(fc.tuple(fc.oneof(fc.constantFrom('method', 'policy', 'sourceInstanceId', 'targetInstanceId', 'productKey', 'targets', 'targetAccount', 'verificationCode', 'file', '__proto__'), nastyString.map(s => s.replace(/["\r\n]/g, ''))), nastyString.map(s => s.slice(0, 3000))), { maxLength: 6 })
  const contentType = fc.constantFrom(`multipart/form-data; boundary=${BOUNDARY}`, 'multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary=other', `MULTIPART/FORM-DATA; BOUNDARY=${BOUNDARY}`, `multipart/mixed; boundary=${BOUNDARY}`)
  const twoFiles = (csv: string): Buffer => Buffer.concat([multipart(csv).subarray(0, -(BOUNDARY.length + 6)), multipart(csv, [])])
  await property(t, 'mutated envelopes', fc.tuple(fields, contentType, fc.boolean()), async ([extra, type, two]) => {
    const csv = `productKey,deviceName\n${FUZZ_PK},dev-0002\n`
    await httpCase(d, upload(two ? twoFiles(csv) : multipart(csv, [...FIELDS, ...extra]), type))
  }, { runs: FEWER_RUNS })
})

t.test('truncated multipart bodies: up, JSON, no 5xx, nothing changed', async t => {
  const body = multipart(`productKey,deviceName\n${FUZZ_PK},dev-0003\n`)
  await property(t, 'truncated bodies', fc.integer({ min: 0, max: body.length - 1 }), async cut => {
    await httpCase(d, upload(body.subarray(0, cut)))
  }, { runs: FEWER_RUNS, examples: [body.length - 10] })
})
