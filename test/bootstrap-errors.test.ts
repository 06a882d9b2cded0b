// docs/protocol.md, "Bootstrap" errors: a non-200 status and a compact `{"code":N,"message":"..."}` with code == status,
// never a stack trace or an HTML page; bad input changes nothing.
import net from 'node:net'
import t, { type Test } from 'tap'
import { newDevice } from '../shared/device.js'
import { product } from './helpers/fixtures.js'
import { exchange, readStrict, sdkForm, sdkRequest, type StrictResponse } from './helpers/strict-http.js'
import { startRedisSidecar } from './helpers/redis-sidecar.js'
import { testConfig } from './helpers/test-sidecar.js'

const BODY_LIMIT = 256
const sidecar = await startRedisSidecar(t, 'bootstrap-errors', { config: testConfig({ bootstrap: { host: '127.0.0.1', port: 0, bodyLimit: BODY_LIMIT } }) })
const { store } = sidecar

await store.createProduct(product('a1errProd01', 'iot-sh-1'))
await store.createDevices([newDevice('a1errProd01', 'dev1', 'iot-sh-1'), newDevice('a1errProd01', 'waiting', 'iot-sh-1'), newDevice('a1errProd01', 'nowhere', 'iot-sh-1')])
// Waiting for nearest placement among instances that have all left the config since (docs/distribution.md, "Rule 7").
await store.setCandidates('a1errProd01', 'waiting', { from: 'iot-sh-1', candidates: [{ region: 'cn-shanghai', instanceId: 'iot-gone-1' }, { region: 'eu-central-1', instanceId: 'iot-gone-2' }], jobId: 'job-1' })
await store.setCandidates('a1errProd01', 'nowhere', { from: 'iot-sh-1', candidates: [], jobId: 'job-2' })

async function send (request: Buffer | string): Promise<StrictResponse> {
  return readStrict((await exchange(sidecar.port, request)).raw)
}

/** The answer is a docs/protocol.md, "Bootstrap" error with this status and a message matching `message`. */
function isError (t: Test, res: StrictResponse, status: number, message: RegExp): void {
  t.same(res.violations, [], 'a well-formed docs/protocol.md, "Bootstrap" answer')
  t.equal(res.status, status)
  t.same(Object.keys(res.json as object), ['code', 'message'])
  t.match((res.json as { message: string }).message, message)
  t.notMatch(res.body, /at .*\.ts:\d+|<html/i, 'no stack trace, no HTML')
}

t.test('a missing required field is a 400 naming it', async t => {
  isError(t, await send(sdkRequest('deviceName=dev1&clientId=x')), 400, /^productKey is required$/)
  isError(t, await send(sdkRequest('productKey=a1errProd01&clientId=x')), 400, /^deviceName is required$/)
  isError(t, await send(sdkRequest('')), 400, /^productKey is required$/)
  isError(t, await send(sdkRequest('productKey=&deviceName=dev1')), 400, /^productKey must not be empty$/)
})

t.test('a field out of its rules is a 400 naming it', async t => {
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'dev1', clientId: 'c'.repeat(65) }))), 400, /^clientId: /)
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'dev1', clientId: '' }))), 400, /^clientId must not be empty$/)
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1/../x', deviceName: 'dev1' }))), 400, /^productKey: /)
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'a b' }))), 400, /^deviceName: /)
})

t.test('a clientId of 64 characters is accepted', async t => {
  const res = await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'dev1', clientId: 'c'.repeat(64) })))
  t.equal(res.status, 200)
})

t.test('a body over the limit is a 413, declared or streamed', async t => {
  const big = `productKey=a1errProd01&deviceName=dev1&pad=${'x'.repeat(BODY_LIMIT)}`
  isError(t, await send(sdkRequest(big)), 413, new RegExp(`larger than ${BODY_LIMIT} bytes`))
  const chunked = 'POST /auth/bootstrap HTTP/1.1\r\nHost: b\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${(big.length).toString(16)}\r\n${big}\r\n0\r\n\r\n`
  isError(t, await send(chunked), 413, /larger than/)
})

t.test('a content type other than a form is refused with 415', async t => {
  const body = sdkForm({ productKey: 'a1errProd01', deviceName: 'dev1' })
  isError(t, await send(sdkRequest(JSON.stringify({ productKey: 'a1errProd01', deviceName: 'dev1' }), { contentType: 'application/json' })), 415, /application\/x-www-form-urlencoded/)
  isError(t, await send(sdkRequest(body, { contentType: 'text/plain' })), 415, /Content-Type must be/)
  isError(t, await send(sdkRequest(body, { contentType: 'application/x-www-form-urlencoded;charset=iso-8859-1' })), 415, /charset/)
  isError(t, await send(sdkRequest(body, { contentType: null })), 415, /Content-Type is required/)
})

t.test('garbage is a clear 400', async t => {
  isError(t, await send(sdkRequest(Buffer.from([0x70, 0x3d, 0xff, 0xfe, 0x00, 0xc3]))), 400, /not valid UTF-8/)
  isError(t, await send(sdkRequest('%%%&&&===;;;\u0001\u0002')), 400, /productKey is required/)
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'dev1' }) + '%ZZ%')), 400, /^deviceName: /)
})

t.test('a request Node cannot parse is answered in the same JSON form', async t => {
  isError(t, await send('HELLO\r\n\r\n'), 400, /malformed HTTP request/)
  isError(t, await send('POST /auth/bootstrap HTTP/1.1\r\nHost: b\r\nContent-Length: abc\r\n\r\n'), 400, /malformed/)
  isError(t, await send(`POST /auth/bootstrap HTTP/1.1\r\nHost: b\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`), 431, /request header too large/)
})

t.test('an unknown device or product is a 404', async t => {
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'nobody' }))), 404, /^device not found$/)
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1noSuchPk1', deviceName: 'dev1' }))), 404, /^device not found$/)
})

t.test('a device not distributed anywhere, or waiting among instances that are gone, is a 404', async t => {
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'nowhere' }))), 404, /^device not distributed anywhere$/)
  isError(t, await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'waiting' }))), 404, /^device not distributed anywhere$/)
})

t.test('other methods and paths under /auth get the same error form', async t => {
  const get = await send('GET /auth/bootstrap HTTP/1.1\r\nHost: b\r\n\r\n')
  isError(t, get, 405, /GET is not allowed/)
  t.equal(get.headers.get('allow'), 'POST')
  isError(t, await send(sdkRequest('productKey=a1errProd01&deviceName=dev1', { path: '/auth/other' })), 404, /no route/)
})

t.test('bad requests change nothing and the server keeps answering', async t => {
  t.equal((await store.getDevice('a1errProd01', 'dev1'))?.instanceId, 'iot-sh-1')
  const res = await send(sdkRequest(sdkForm({ productKey: 'a1errProd01', deviceName: 'dev1' })))
  t.equal(res.status, 200)
  t.same(res.violations, [])
})

// Keep the raw client honest: a server that never answers makes `exchange` fail, not hang.
t.test('a silent server is reported by the raw client', async t => {
  const silent = net.createServer(() => {})
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.close() })
  const port = (silent.address() as net.AddressInfo).port
  await t.rejects(exchange(port, sdkRequest('x=1'), 300), /no complete response/)
})
