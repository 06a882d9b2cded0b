// The benchmark's load generators count what the servers answer: CONNACK codes, HTTP statuses,
// connections the server closes (no timings asserted).
import { createServer as createHttpServer } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import t from 'tap'
import { Aedes, type AuthenticateError } from 'aedes'
import { ConnectFlood, connectPacket } from '../bench/load/connect-flood.js'
import { httpFlood } from '../bench/load/http-flood.js'
import { latencyMs } from '../bench/figures.js'

t.test('the raw CONNECT is MQTT 3.1.1 with the given fields', async t => {
  const packet = connectPacket({ clientId: 'c|securemode=3|', username: 'dn&pk', password: 'ABC' }, 1200)
  t.equal(packet[0], 0x10, 'CONNECT')
  t.ok(packet.includes(Buffer.from('MQTT')), 'protocol name')
  t.equal(packet[packet.indexOf(Buffer.from('MQTT')) + 4], 4, 'level 4')
  t.ok(packet.includes(Buffer.from('dn&pk')))
  t.ok(packet.includes(Buffer.from('ABC')))
})

t.test('a CONNECT flood counts accepted and refused by return code, holds the accepted, sees server-side closes', async t => {
  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, _password, done) => {
      if (username === 'refuse') done(Object.assign(new Error('no'), { returnCode: 5 }) as unknown as AuthenticateError, false)
      else done(null, true)
    }
  })
  const server = createServer(aedes.handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => aedes.close(() => server.close(() => resolve()))))
  const port = (server.address() as AddressInfo).port
  const creds = Array.from({ length: 30 }, (_, i) => ({ clientId: `c${i}`, username: i % 10 === 0 ? 'refuse' : 'ok', password: 'p' }))
  const flood = new ConnectFlood({ port, credentials: creds, inFlight: 7, sources: ['127.0.0.2', '127.0.0.3'] })
  const r = await flood.run()
  t.equal(r.attempted, 30)
  t.equal(r.accepted, 27)
  t.same(r.refused, { 5: 3 })
  t.same(r.failed, {})
  t.ok(r.rate > 0)
  t.ok(latencyMs(r.latency, 99) > 0, 'latencies recorded')
  t.equal(flood.sockets.length, 27, 'accepted connections are held')
  const clients = (aedes as unknown as { clients: Record<string, { close: () => void }> }).clients
  clients.c1?.close()
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(flood.dropped, 1, 'a connection the broker closed counts as dropped')
  await flood.close()
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(flood.dropped, 1, 'closing them ourselves is not a drop')
  t.equal(Object.keys(clients).length, 0)
})

t.test('a flood against nothing reports the socket error, not a crash', async t => {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  const r = await new ConnectFlood({ port, credentials: [{ clientId: 'a', username: 'u', password: 'p' }], inFlight: 1 }).run()
  t.same(r.failed, { ECONNREFUSED: 1 })
  t.equal(r.accepted, 0)
})

t.test('an HTTP flood counts statuses and server closes, in both connection modes', async t => {
  let n = 0
  const bodies: string[] = []
  const server = createHttpServer((req, res) => {
    let body = ''
    req.on('data', c => { body += c })
    req.on('end', () => {
      bodies.push(body)
      const status = ++n % 4 === 0 ? 503 : 200
      const close = req.headers['x-never'] === undefined && status === 503
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': '2', ...(close ? { Connection: 'close' } : {}) })
      res.end('{}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const port = (server.address() as AddressInfo).port
  const queries = [{ productKey: 'a1pk', deviceName: 'dev1' }, { productKey: 'a1pk', deviceName: 'dev2' }]
  for (const mode of ['new-connection', 'keep-alive'] as const) {
    const r = await httpFlood({ port, mode, concurrency: 3, durationMs: 150, queries })
    t.ok(r.requests > 0, mode)
    t.equal((r.statuses['200'] ?? 0) + (r.statuses['503'] ?? 0), r.requests, 'every answer counted by status')
    t.ok((r.statuses['503'] ?? 0) > 0)
    t.equal(r.serverClosed, r.statuses['503'], 'the 503s came with Connection: close')
    t.same(r.errors, {}, 'a server close is followed by a new connection, not an error')
  }
  t.ok(bodies.includes('productKey=a1pk&deviceName=dev1&resources=mqtt'), 'the SDK form body')
  t.ok(bodies.includes('productKey=a1pk&deviceName=dev2&resources=mqtt'))
})
