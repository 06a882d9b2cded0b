// Fuzz: POST /auth/bootstrap form bodies (docs/hardening.md). Valid forms of a real device with
// fields replaced, added and repeated, under every content type, and raw bytes. A real
// `homing bootstrap` on Redis: it stays up, answers JSON and never 5xx, and changes nothing.
import fc from 'fast-check'
import t from 'tap'
import { FUZZ_DEVICES, FUZZ_PK, expect, httpCase, nastyString, property, seed, send, startFuzzDeployment } from './helpers/fuzz.js'

const d = await startFuzzDeployment('fuzz-bootstrap')
t.teardown(() => d.close())
await seed(d)

const CONTENT_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'APPLICATION/X-WWW-FORM-URLENCODED;charset="UTF8"',
  'application/x-www-form-urlencoded; charset=latin1', 'application/x-www-form-urlencoded;;;charset', 'application/json', 'text/plain', 'multipart/form-data', '']

const valid = fc.record({
  productKey: fc.constant(FUZZ_PK),
  deviceName: fc.constantFrom(...FUZZ_DEVICES),
  clientId: fc.constant('pkFuzz01.dev-0001'),
  version: fc.constant('default'),
  timestamp: fc.constant('2524608000000'),
  resources: fc.constant('mqtt')
})

/** A valid form with fields replaced by nasty strings, removed, added (prototype names too) and repeated. */
const mutatedForm = fc.tuple(
  valid,
  fc.array(fc.tuple(fc.constantFrom('productKey', 'deviceName', 'clientId', 'version', 'timestamp', 'resources'), fc.option(nastyString)), { maxLength: 4 }),
  fc.array(fc.tuple(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor', 'productKey', 'deviceName', '__proto__[x]', 'a[]')), nastyString), { maxLength: 4 })
).map(([form, replaced, extra]) => {
  const fields: [string, string][] = Object.entries(form)
  for (const [name, value] of replaced) {
    const i = fields.findIndex(([n]) => n === name)
    if (value === null) fields.splice(i, 1)
    else fields[i] = [name, value]
  }
  return [...fields, ...extra]
})

/** Form text: well encoded, or joined raw so that `%`, `&` and `=` in values reach the parser as they are. */
const formText = fc.tuple(mutatedForm, fc.boolean()).map(([fields, encoded]) => encoded
  ? new URLSearchParams(fields).toString()
  : fields.map(([n, v]) => `${n}=${v}`).join('&'))

const bootstrap = (body: string | Buffer, contentType: string) => () => send(`${d.url}/auth/bootstrap`, {
  method: 'POST',
  headers: contentType === '' ? {} : { 'content-type': contentType },
  body
})

t.test('a valid form still bootstraps', async t => {
  const answer = await httpCase(d, bootstrap(`productKey=${FUZZ_PK}&deviceName=dev-0001`, CONTENT_TYPES[0]!))
  t.equal(answer?.status, 200, 'the base of the mutations is accepted')
})

t.test('mutated forms: up, JSON, no 5xx, nothing changed', async t => {
  await property(t, 'mutated forms', fc.tuple(formText, fc.constantFrom(...CONTENT_TYPES)), async ([text, type]) => {
    await httpCase(d, bootstrap(text, type))
  })
})

t.test('raw bytes as a form: up, JSON, no 5xx, nothing changed', async t => {
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.string({ unit: 'binary' }).map(s => Buffer.from(s, 'utf8')))
  await property(t, 'raw bytes', fc.tuple(bytes, fc.constantFrom(...CONTENT_TYPES)), async ([body, type]) => {
    await httpCase(d, bootstrap(Buffer.from(body), type))
  })
})

t.test('afterwards the process still answers a valid bootstrap', async t => {
  const answer = await httpCase(d, bootstrap(`productKey=${FUZZ_PK}&deviceName=dev-0002`, CONTENT_TYPES[0]!))
  expect(answer !== null, 'no answer')
  t.equal(answer?.status, 200)
})
