// POST /auth/bootstrap is answered before Koa sees it (bootstrap/devices/fast-path.ts). The same
// requests, sent to the sidecar and to a server that runs the sidecar's Koa app alone (as every
// request was answered before the fast path), get the same bytes but for the Date header: successes,
// every error, kept connections, and the failure limit, which both paths count together.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createApp } from '../bootstrap/app.js'
import type { Sidecar } from '../bootstrap/context.js'
import { boundConnections, boundRequests } from '../bootstrap/http/keep-alive.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { Topology } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import { Metrics } from '../shared/metrics/index.js'
import { MemoryStore } from '../shared/store/memory.js'
import { product } from './helpers/fixtures.js'
import { RawConnection } from './helpers/raw-connection.js'
import { exchange, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { testConfig } from './helpers/test-sidecar.js'

const PK = 'a1fastPath01'
const PROXY = '127.0.0.2'
const BODY_LIMIT = 256

async function sidecarOn (store: MemoryStore, failures = 1000): Promise<Sidecar> {
  const config = testConfig({
    bootstrap: { host: '127.0.0.1', port: 0, bodyLimit: BODY_LIMIT, keepAlive: { proxies: [PROXY] } },
    limits: { bootstrapFailures: { points: failures, windowSeconds: 60, blockSeconds: 60 } }
  })
  return { config, topology: new Topology(config), store, log: silentLogger, metrics: new Metrics({ defaults: false }) }
}

const store = new MemoryStore()
await store.createProduct(product(PK, 'iot-sh-1'))
await store.createProduct(product('a1fastPath02', 'iot-de-1'))
await store.createDevices([newDevice(PK, 'dev1', 'iot-sh-1'), newDevice('a1fastPath02', 'dev-de', 'iot-de-1')])
const off = newDevice(PK, 'off', 'iot-sh-1')
await store.createDevices([{ ...off, enabled: false }])

/** The sidecar's own server: the fast path first. */
async function fastServer (sidecar: Sidecar): Promise<number> {
  const server = await startSidecar(sidecar)
  t.teardown(() => server.close())
  return server.port
}

/** The sidecar's Koa app alone, on a server set up as startSidecar sets up its own. */
async function koaServer (sidecar: Sidecar): Promise<number> {
  const keepAlive = sidecar.config.bootstrap.keepAlive
  const server = http.createServer({ requireHostHeader: false }, boundRequests(createApp(sidecar).callback(), keepAlive, sidecar.metrics))
  boundConnections(server, keepAlive, sidecar.metrics)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return (server.address() as AddressInfo).port
}

const fast = await fastServer(await sidecarOn(store))
const koa = await koaServer(await sidecarOn(store))

function withoutDate (raw: Buffer): string {
  return raw.toString('latin1').replace(/\r\nDate: [^\r]+\r\n/g, '\r\nDate: <date>\r\n')
}

async function both (request: Buffer | string, from?: string): Promise<[string, string]> {
  const answer = async (port: number): Promise<string> => {
    if (from === undefined) return withoutDate((await exchange(port, request)).raw)
    const connection = await RawConnection.open(port, from)
    try {
      connection.write(request)
      const raw = await connection.next()
      return raw === null ? '<closed>' : withoutDate(raw)
    } finally {
      connection.destroy()
    }
  }
  return [await answer(fast), await answer(koa)]
}

function withoutHost (version: string): string {
  const body = `productKey=${PK}&deviceName=dev1`
  return `POST /auth/bootstrap HTTP/${version}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`
}

const big = `productKey=${PK}&deviceName=dev1&pad=${'x'.repeat(BODY_LIMIT)}`
const cases: Record<string, Buffer | string> = {
  success: sdkRequest(`productKey=${PK}&deviceName=dev1&clientId=${PK}.dev1&resources=mqtt`),
  'success with an ip': sdkRequest(sdkForm({ productKey: 'a1fastPath02', deviceName: 'dev-de' })),
  'content type without charset': sdkRequest(sdkForm({ productKey: PK, deviceName: 'dev1' }), { contentType: 'application/x-www-form-urlencoded' }),
  'missing field': sdkRequest('deviceName=dev1&clientId=x'),
  'empty body': sdkRequest(''),
  'bad field': sdkRequest(sdkForm({ productKey: 'a1/../x', deviceName: 'dev1' })),
  'not UTF-8': sdkRequest(Buffer.from([0x70, 0x3d, 0xff, 0xfe, 0x00, 0xc3])),
  'declared too large': sdkRequest(big),
  'streamed too large': 'POST /auth/bootstrap HTTP/1.1\r\nHost: b\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
  'JSON body': sdkRequest('{"productKey":"x"}', { contentType: 'application/json' }),
  'other charset': sdkRequest('x=1', { contentType: 'application/x-www-form-urlencoded;charset=iso-8859-1' }),
  'no content type': sdkRequest('x=1', { contentType: null }),
  'no Host header': withoutHost('1.1'),
  'HTTP/1.0 without Host': withoutHost('1.0'),
  'unknown device': sdkRequest(sdkForm({ productKey: PK, deviceName: 'nobody' })),
  'disabled device': sdkRequest(sdkForm({ productKey: PK, deviceName: 'off' })),
  'asks to keep the connection': Buffer.from(sdkRequest(sdkForm({ productKey: PK, deviceName: 'dev1' })).toString('latin1').replace('\r\nContent-Length', '\r\nConnection: keep-alive\r\nContent-Length'), 'latin1'),
  'asks to keep it, with an error': Buffer.from(sdkRequest('x=1').toString('latin1').replace('\r\nContent-Length', '\r\nConnection: keep-alive\r\nContent-Length'), 'latin1'),
  'another path under /auth': sdkRequest('x=1', { path: '/auth/other' }),
  'a query string': sdkRequest(sdkForm({ productKey: PK, deviceName: 'dev1' }), { path: '/auth/bootstrap?x=1' }),
  GET: 'GET /auth/bootstrap HTTP/1.1\r\nHost: b\r\n\r\n'
}

t.test('every answer is the Koa path\'s, byte for byte but for the date', async t => {
  for (const [name, request] of Object.entries(cases)) {
    const [fromFast, fromKoa] = await both(request)
    t.equal(fromFast, fromKoa, name)
  }
  const [success] = await both(cases.success as Buffer)
  t.match(success, /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/json;charset=utf-8\r\nConnection: close\r\nContent-Length: 105\r\n/, 'and that is the success the Link SDK reads')
})

t.test('a listed proxy\'s connection is kept open by both, with the same bytes', async t => {
  const [fromFast, fromKoa] = await both(cases.success as Buffer, PROXY)
  t.equal(fromFast, fromKoa)
  t.match(fromFast, /\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n/)
  const [errorFast, errorKoa] = await both(cases['unknown device'] as Buffer, PROXY)
  t.equal(errorFast, errorKoa)
  t.match(errorFast, /^HTTP\/1\.1 404 /)
})

t.test('the failure limit counts both paths together and refuses on both', async t => {
  const limited = await sidecarOn(new MemoryStore(), 2)
  await limited.store.createProduct(product(PK, 'iot-sh-1'))
  const server = await startSidecar(limited)
  t.teardown(() => server.close())
  const unknown = (path: string): Buffer => sdkRequest(sdkForm({ productKey: PK, deviceName: 'nobody' }), { path })
  const status = async (request: Buffer): Promise<string> => (await exchange(server.port, request)).raw.toString('latin1').slice(0, 12)
  t.equal(await status(unknown('/auth/bootstrap')), 'HTTP/1.1 404')
  t.equal(await status(unknown('/auth/bootstrap?')), 'HTTP/1.1 404')
  t.equal(await status(unknown('/auth/bootstrap')), 'HTTP/1.1 429', 'the third failure, counted over both paths, is refused')
  t.equal(await status(unknown('/auth/bootstrap?')), 'HTTP/1.1 429')
  const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()
  t.match(metrics, /^homing_bootstrap_requests_total\{code="404"\} 2$/m, 'both paths\' requests are counted in the metrics')
  t.match(metrics, /^homing_bootstrap_requests_total\{code="429"\} 2$/m)
})

t.test('bootstraps at the same moment are read together, and each gets its own device\'s answer', async t => {
  const burst = new MemoryStore()
  await burst.createProduct(product(PK, 'iot-sh-1'))
  await burst.createProduct(product('a1fastPath02', 'iot-de-1'))
  const names = Array.from({ length: 20 }, (_, i) => `dev${i}`)
  await burst.createDevices(names.map(n => newDevice(PK, n, 'iot-sh-1')))
  await burst.createDevices(names.map(n => newDevice('a1fastPath02', n, 'iot-de-1')))
  const port = await fastServer(await sidecarOn(burst))
  const asked = [...names.map(n => [PK, n]), ...names.map(n => ['a1fastPath02', n]), [PK, 'nobody'], [PK, 'dev0']]
  const answers = await Promise.all(asked.map(async ([productKey = '', deviceName = '']) => (await exchange(port, sdkRequest(sdkForm({ productKey, deviceName })))).raw.toString('latin1')))
  answers.forEach((raw, i) => {
    const [productKey, deviceName] = asked[i] as string[]
    const expected = deviceName === 'nobody' ? '"code":404' : productKey === PK ? 'mqtt.sh.example.com' : 'mqtt.de.example.com'
    t.ok(raw.includes(expected), `${productKey}/${deviceName}`)
  })
})
