// docs/operations.md, "Behind a load balancer": bootstrap answers to a listed proxy keep the
// connection open for the next request; a device connecting directly gets the bytes it always got
// and the connection closes; connections kept open are closed when idle or after maxRequests, and
// counted in /metrics. Real sockets: 127.0.0.2 is the proxy, 127.0.0.1 a device.
import t from 'tap'
import { startSidecar, type SidecarServer } from '../bootstrap/http/server.js'
import { Topology } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import { Metrics } from '../shared/metrics/index.js'
import { MemoryStore } from '../shared/store/memory.js'
import { product } from './helpers/fixtures.js'
import { scrapeSample as scrape } from './helpers/scrape.js'
import { RawConnection } from './helpers/raw-connection.js'
import { exchange, readStrict, sdkRequest } from './helpers/strict-http.js'
import { testConfig } from './helpers/test-sidecar.js'
import { eventually } from './helpers/wait.js'

const PROXY = '127.0.0.2'
const PK = 'a1keepAlive1'
const BODY = `productKey=${PK}&deviceName=lamp-0001&clientId=${PK}.lamp-0001&resources=mqtt`
const ANSWER = '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.sh.example.com","port":1883}}},"message":"success"}'

const store = new MemoryStore()
await store.createProduct(product(PK, 'iot-sh-1'))
await store.createDevices([newDevice(PK, 'lamp-0001', 'iot-sh-1')])

async function start (keepAlive: Record<string, unknown>): Promise<{ server: SidecarServer }> {
  const config = testConfig({ bootstrap: { host: '127.0.0.1', port: 0, keepAlive: { proxies: [PROXY], ...keepAlive } } })
  const metrics = new Metrics({ defaults: false })
  const server = await startSidecar({ config, topology: new Topology(config), store, log: silentLogger, metrics })
  t.teardown(() => server.close())
  return { server }
}

const { server } = await start({})

t.test('a listed proxy sends several bootstrap requests on one connection: each is answered and it stays open', async t => {
  const proxy = await RawConnection.open(server.port, PROXY)
  t.teardown(() => proxy.destroy())
  for (let i = 0; i < 3; i++) {
    proxy.write(sdkRequest(BODY))
    const raw = await proxy.next()
    t.ok(raw !== null, `answer ${i + 1}`)
    const res = readStrict(raw as Buffer)
    t.same(res.violations, [], `answer ${i + 1}: still what the Link SDK's reader accepts`)
    t.equal(res.body, ANSWER)
    t.equal(res.headers.get('connection'), 'keep-alive')
    t.equal(res.headers.get('keep-alive'), 'timeout=5', 'the idle bound is announced')
  }
  t.notOk(proxy.closedByServer, 'open after the third answer')
  t.equal(await scrape(server.port, 'homing_http_kept_connections'), 1, 'counted as a kept connection')
  proxy.destroy()
  await eventually(async () => await scrape(server.port, 'homing_http_kept_connections') === 0, 'the kept connection uncounted once it closed')
})

t.test('a device connecting directly gets the same bytes as ever, and the connection closes', async t => {
  const { raw, closedByServer } = await exchange(server.port, sdkRequest(BODY))
  const res = readStrict(raw)
  t.same(res.violations, [])
  t.equal(res.body, ANSWER)
  const bytes = raw.toString('latin1').replace(/\r\nDate: [^\r]+\r\n/, '\r\nDate: <date>\r\n')
  t.equal(bytes, `HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\nConnection: close\r\nContent-Length: 105\r\nDate: <date>\r\n\r\n${ANSWER}`, 'byte for byte, but for the date')
  t.ok(closedByServer, 'closed by the sidecar after the answer')
})

t.test('a device sending two requests at once directly gets one answer and the close', async t => {
  const device = await RawConnection.open(server.port)
  device.write(Buffer.concat([sdkRequest(BODY), sdkRequest(BODY)]))
  const answers = await device.rest()
  t.equal(answers.length, 1)
  t.equal(readStrict(answers[0] as Buffer).headers.get('connection'), 'close')
})

t.test('a client that asks with Connection: keep-alive is kept open; its error answers too', async t => {
  const client = await RawConnection.open(server.port)
  t.teardown(() => client.destroy())
  const asking = (body: string): Buffer => Buffer.from(sdkRequest(body).toString('latin1').replace('\r\nContent-Length', '\r\nConnection: keep-alive\r\nContent-Length'), 'latin1')
  client.write(asking(BODY))
  t.equal(readStrict(await client.next() as Buffer).headers.get('connection'), 'keep-alive')
  client.write(asking(`productKey=${PK}&deviceName=nobody-here`))
  const missing = readStrict(await client.next() as Buffer)
  t.equal(missing.status, 404)
  t.same(missing.violations, [])
  t.equal(missing.headers.get('connection'), 'keep-alive')
  client.write(asking(BODY))
  t.equal(readStrict(await client.next() as Buffer).status, 200, 'a third request on the same connection')
  t.notOk(client.closedByServer)
})

t.test('a proxy that says Connection: close is closed after the answer', async t => {
  const proxy = await RawConnection.open(server.port, PROXY)
  proxy.write(Buffer.from(sdkRequest(BODY).toString('latin1').replace('\r\nContent-Length', '\r\nConnection: close\r\nContent-Length'), 'latin1'))
  const answers = await proxy.rest()
  t.equal(answers.length, 1)
  t.equal(readStrict(answers[0] as Buffer).headers.get('connection'), 'close')
})

t.test('an idle kept connection is closed after bootstrap.keepAlive.idleSeconds, and counted', async t => {
  const { server: idle } = await start({ idleSeconds: 1 })
  const proxy = await RawConnection.open(idle.port, PROXY)
  proxy.write(sdkRequest(BODY))
  t.equal(readStrict(await proxy.next() as Buffer).headers.get('keep-alive'), 'timeout=1')
  // Node closes one second after the announced timeout; a connection that stayed open would fail here.
  await proxy.rest(5000)
  t.ok(proxy.closedByServer, 'closed by the sidecar')
  t.equal(await scrape(idle.port, 'homing_http_idle_closes_total'), 1)
  t.equal(await scrape(idle.port, 'homing_http_kept_connections'), 0)
})

t.test('a kept connection that starts a request and never finishes its headers is closed as idle', async t => {
  const { server: idle } = await start({ idleSeconds: 1 })
  const slow = await RawConnection.open(idle.port, PROXY)
  slow.write(sdkRequest(BODY))
  t.equal(readStrict(await slow.next() as Buffer).status, 200)
  slow.write('POST /auth/bootstrap HTTP/1.1\r\nHost: bootstrap.example.com\r\n')
  t.same(await slow.rest(5000), [], 'closed without an answer')
  t.equal(await scrape(idle.port, 'homing_http_idle_closes_total'), 1)
})

t.test('a client pipelining many requests on one connection gets maxRequests answers, then the close', async t => {
  const { server: bounded } = await start({ maxRequests: 5 })
  const hostile = await RawConnection.open(bounded.port, PROXY)
  hostile.write(Buffer.concat(Array.from({ length: 500 }, () => sdkRequest(BODY))))
  const answers = (await hostile.rest()).map(raw => readStrict(raw))
  t.equal(answers.length, 5, 'five answers, no more')
  t.ok(answers.every(a => a.status === 200 && a.violations.length === 0), 'each a good answer')
  t.same(answers.map(a => a.headers.get('connection')), ['keep-alive', 'keep-alive', 'keep-alive', 'keep-alive', 'close'], 'the last one says it closes')
  t.ok(await scrape(bounded.port, 'homing_http_dropped_requests_total') > 0, 'the requests past the limit are counted as dropped')
  const { raw } = await exchange(bounded.port, sdkRequest(BODY))
  t.equal(readStrict(raw).status, 200, 'the sidecar answers the next device')
})
