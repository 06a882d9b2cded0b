// Request bodies on the management API: JSON within the configured limit, validated at the edge;
// anything else is a clear 4xx that names the problem and changes nothing.
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, testConfig, TOKENS } from './helpers/test-sidecar.js'

const BODY_LIMIT = 512
const store = new MemoryStore()
const sidecar = await startTestSidecar(store, testConfig({ bootstrap: { host: '127.0.0.1', port: 0, bodyLimit: BODY_LIMIT } }))
t.teardown(() => sidecar.close())
const api = apiClient(sidecar.url, TOKENS.acme)

t.test('a content type other than JSON is a 415', async t => {
  const form = await api('POST', '/products', 'instanceId=iot-sh-1&name=Lamp', { 'Content-Type': 'application/x-www-form-urlencoded' })
  t.equal(form.status, 415)
  t.same(form.json, { error: { code: 'unsupported_media_type', message: 'Content-Type must be application/json' } })
  const text = await api('POST', '/products', '{"instanceId":"iot-sh-1","name":"Lamp"}', { 'Content-Type': 'text/plain' })
  t.equal(text.status, 415)
  const latin = await api('POST', '/products', '{"instanceId":"iot-sh-1","name":"Lamp"}', { 'Content-Type': 'application/json; charset=latin1' })
  t.equal(latin.status, 415)
  t.match(latin.json.error.message, /charset "latin1"/)
})

t.test('JSON with a utf-8 charset is accepted', async t => {
  const res = await api('POST', '/products', '{"instanceId":"iot-sh-1","name":"Lämpchen"}', { 'Content-Type': 'application/json; charset=UTF-8' })
  t.equal(res.status, 201)
  t.equal(res.json.name, 'Lämpchen')
})

t.test('bytes that are not JSON, or JSON that is not an object, are a 400', async t => {
  for (const [body, message] of [
    ['{"instanceId":', 'body is not valid JSON'],
    ['   ', 'body is empty: expected JSON'],
    ['[1,2]', 'body must be a JSON object'],
    ['null', 'body must be a JSON object']
  ] as const) {
    const res = await api('POST', '/products', body)
    t.equal(res.status, 400, body)
    t.same(res.json, { error: { code: 'invalid', message } }, body)
  }
})

t.test('an empty request without a content type reads as {} and names the first missing field', async t => {
  const res = await fetch(`${sidecar.url}/api/v1/products`, { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.acme}` } })
  t.equal(res.status, 400)
  t.same(await res.json(), { error: { code: 'invalid', message: 'instanceId is required', field: 'instanceId' } })
  const body = await fetch(`${sidecar.url}/api/v1/products`, { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.acme}`, 'Content-Type': '' }, body: 'x' })
  t.equal(body.status, 415)
})

t.test('an unknown field is refused by name, so that typos do not pass silently', async t => {
  const res = await api('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productkey: 'a1abcdefghi' })
  t.equal(res.status, 400)
  t.same(res.json, { error: { code: 'invalid', message: 'unknown field "productkey"', field: 'productkey' } })
})

t.test('a body over the configured limit is a 413', async t => {
  const res = await api('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', parsingScript: 'x'.repeat(BODY_LIMIT) })
  t.equal(res.status, 413)
  t.same(res.json, { error: { code: 'too_large', message: `body larger than ${BODY_LIMIT} bytes` } })
})

t.test('refused bodies created nothing', async t => {
  const products = await store.listProducts('iot-sh-1')
  t.same(products.map(p => p.name), ['Lämpchen'])
})
