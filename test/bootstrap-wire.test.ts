// docs/protocol.md, "Bootstrap": the exact request of the Link SDK for C gets an answer its strict reader accepts.
import t from 'tap'
import { newDevice } from '../shared/device.js'
import { MemoryStore } from '../shared/store/memory.js'
import { product } from './helpers/fixtures.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { startTestSidecar, testConfig } from './helpers/test-sidecar.js'

const store = new MemoryStore()
await store.createProduct(product('a1wireProd1', 'iot-sh-1'))
await store.createDevices([newDevice('a1wireProd1', 'dev-sh', 'iot-sh-1')])
await store.createProduct(product('a1wireProd2', 'iot-de-1'))
await store.createDevices([newDevice('a1wireProd2', 'dev-de', 'iot-de-1')])
const sidecar = await startTestSidecar(store)
t.teardown(() => sidecar.close())

const bootstrap = async (body: string, opts = {}) => readStrict((await exchange(sidecar.port, sdkRequest(body, opts))).raw)

t.test('the SDK request byte for byte gets the exact success answer', async t => {
  const { raw, closedByServer } = await exchange(sidecar.port, sdkRequest('productKey=a1wireProd1&deviceName=dev-sh&clientId=a1wireProd1.dev-sh&resources=mqtt'))
  const res = readStrict(raw)
  t.same(res.violations, [], 'no docs/protocol.md, "Bootstrap" point is broken')
  t.equal(res.statusLine, 'HTTP/1.1 200 OK')
  t.equal(res.body, '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.sh.example.com","port":1883}}},"message":"success"}')
  t.equal(res.headers.get('content-type'), 'application/json;charset=utf-8')
  t.ok(closedByServer, 'the connection is closed after the one answer, as Alibaba does')
})

t.test('a header and a body sent apart, as the SDK sends them, are read as one request', async t => {
  const request = sdkRequest('productKey=a1wireProd1&deviceName=dev-sh&clientId=a1wireProd1.dev-sh&resources=mqtt')
  const split = request.indexOf('\r\n\r\n') + 4
  const res = readStrict((await exchange(sidecar.port, [request.subarray(0, split), request.subarray(split, split + 10), request.subarray(split + 10)])).raw)
  t.equal(res.status, 200)
  t.same(res.violations, [])
})

t.test('the answer carries only short, valid headers: what Node adds is accounted for', async t => {
  const res = await bootstrap(sdkForm({ productKey: 'a1wireProd1', deviceName: 'dev-sh' }))
  t.same(res.headerLines.map(l => l.slice(0, l.indexOf(':'))).sort(), ['Connection', 'Content-Length', 'Content-Type', 'Date'])
  t.equal(res.headers.get('connection'), 'close')
  t.match(res.headers.get('date'), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
  t.notOk(res.headers.has('keep-alive'))
})

t.test('an instance endpoint with an ip answers it next to host and port, after them', async t => {
  const res = await bootstrap(sdkForm({ productKey: 'a1wireProd2', deviceName: 'dev-de', clientId: 'a1wireProd2.dev-de', resources: 'mqtt' }))
  t.same(res.violations, [])
  t.equal(res.body, '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.de.example.com","port":8883,"ip":"192.0.2.10"}}},"message":"success"}')
})

t.test('the content type may come without a charset', async t => {
  const res = await bootstrap(sdkForm({ productKey: 'a1wireProd1', deviceName: 'dev-sh' }), { contentType: 'application/x-www-form-urlencoded' })
  t.equal(res.status, 200)
  t.same(res.violations, [])
})

t.test('optional fields may be absent and unknown fields are ignored; the timestamp is never checked', async t => {
  for (const body of [
    'productKey=a1wireProd1&deviceName=dev-sh',
    'deviceName=dev-sh&productKey=a1wireProd1&timestamp=2524608000000&version=default&signmethod=x&foo=bar',
    'productKey=a1wireProd1&timestamp=1&version=default&clientId=123&resources=MQTT,codec&deviceName=dev-sh'
  ]) {
    const res = await bootstrap(body)
    t.equal(res.status, 200, body)
    t.same(res.violations, [], body)
  }
})

t.test('a Host header with a port, or none, and keep-alive clients are answered the same', async t => {
  const withPort = await bootstrap('productKey=a1wireProd1&deviceName=dev-sh', { host: `127.0.0.1:${sidecar.port}` })
  t.equal(withPort.status, 200)
  const res = await fetch(`${sidecar.url}/auth/bootstrap`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'productKey=a1wireProd1&deviceName=dev-sh'
  })
  t.equal(res.status, 200)
  t.same(await res.json(), { code: 200, data: { resources: { mqtt: { host: 'mqtt.sh.example.com', port: 1883 } } }, message: 'success' })
})

t.test('an endpoint too long for the SDK buffer is reported at start', async t => {
  const host = `${'x'.repeat(120)}.example.com`
  const config = testConfig({
    instances: [{ id: 'iot-long', region: 'cn-shanghai', account: 'acme', endpoint: { host, port: 1883 } }]
  })
  const other = await startTestSidecar(new MemoryStore(), config)
  await other.close()
  const warning = other.lines.map(l => JSON.parse(l) as { level: number, instanceId?: string, msg: string }).find(l => l.instanceId === 'iot-long')
  t.equal(warning?.level, 40, 'a warning')
  t.match(warning?.msg, /receive buffer/)
})
