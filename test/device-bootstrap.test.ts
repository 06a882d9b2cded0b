// docs/protocol.md, "Bootstrap": the device library's bootstrap request is the Link SDK for C's, and it reads answers as strictly.
import net from 'node:net'
import t from 'tap'
import { bootstrap, BootstrapError, type BootstrapOptions, type BootstrapQuery } from '../device/bootstrap.js'
import { within, WAIT_MS } from './helpers/wait.js'

/** The error a bootstrap is expected to end with. */
const failure = (q: BootstrapQuery, o: BootstrapOptions): Promise<BootstrapError> =>
  bootstrap(q, o).then(() => { throw new Error('bootstrap succeeded') }, (e: unknown) => e as BootstrapError)

/** A raw TCP server that records the request bytes and writes `answer` in pieces. */
async function rawServer (t: { teardown: (fn: () => Promise<void>) => void }, answer: (request: string) => string[]): Promise<{ url: string, requests: string[] }> {
  const requests: string[] = []
  const server = net.createServer(socket => {
    let data = ''
    socket.on('data', chunk => {
      data += chunk.toString('latin1')
      const end = data.indexOf('\r\n\r\n')
      if (end < 0) return
      const length = Number(/Content-Length: (\d+)/.exec(data)?.[1] ?? 0)
      if (data.length < end + 4 + length) return
      requests.push(data)
      const pieces = answer(data)
      let i = 0
      const next = (): void => {
        if (i < pieces.length) socket.write(pieces[i++] as string, () => setTimeout(next, 5))
      }
      next()
    })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, requests }
}

const ok = (body: string): string => `HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
const SUCCESS = '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.sh.example.com","port":1883}}},"message":"success"}'

t.test('the request is the Link SDK bytes: header order, Host without port, no Connection header', async t => {
  const s = await rawServer(t, () => [ok(SUCCESS)])
  await bootstrap({ productKey: 'a1pk', deviceName: 'dev1', clientId: 'a1pk.dev1' }, { url: s.url })
  const body = 'productKey=a1pk&deviceName=dev1&clientId=a1pk.dev1&resources=mqtt'
  t.equal(s.requests[0], 'POST /auth/bootstrap HTTP/1.1\r\n' +
    'Host: 127.0.0.1\r\n' +
    'Accept: text/xml,text/javascript,text/html,application/json\r\n' +
    'Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    '\r\n' + body)
})

t.test('a success answer gives host, port and the optional ip, even when it arrives in pieces', async t => {
  const body = '{"code":200,"data":{"resources":{"mqtt":{"host":"m.example","port":18830,"ip":"10.0.0.7"}}},"message":"success"}'
  const whole = ok(body)
  const s = await rawServer(t, () => [whole.slice(0, 10), whole.slice(10, 60), whole.slice(60, 130), whole.slice(130)])
  t.same(await bootstrap({ productKey: 'a1pk', deviceName: 'dev1' }, { url: s.url }), { host: 'm.example', port: 18830, ip: '10.0.0.7' })
})

t.test('429 carries its status, code, message and Retry-After', async t => {
  const body = '{"code":429,"message":"too many requests"}'
  const s = await rawServer(t, () => [`HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: ${body.length}\r\n\r\n${body}`])
  const err = await bootstrap({ productKey: 'a1pk', deviceName: 'dev1' }, { url: s.url }).catch((e: unknown) => e)
  t.ok(err instanceof BootstrapError)
  const e = err as BootstrapError
  t.equal(e.status, 429)
  t.equal(e.code, 429)
  t.equal(e.retryAfterMs, 7000)
  t.ok(e.retryable)
  t.match(e.message, /too many requests/)
})

t.test('404 is an error that is not worth an early retry; 503 is', async t => {
  const s = await rawServer(t, request => {
    const status = request.includes('deviceName=gone') ? 404 : 503
    const body = `{"code":${status},"message":"x"}`
    return [`HTTP/1.1 ${status} X\r\nContent-Length: ${body.length}\r\n\r\n${body}`]
  })
  const gone = await failure({ productKey: 'a1pk', deviceName: 'gone' }, { url: s.url })
  t.equal(gone.status, 404)
  t.notOk(gone.retryable)
  const busy = await failure({ productKey: 'a1pk', deviceName: 'busy' }, { url: s.url })
  t.equal(busy.status, 503)
  t.equal(busy.retryAfterMs, null)
  t.ok(busy.retryable)
})

t.test('answers a Link SDK device cannot read are refused: HTTP/1.0, chunked, no Content-Length', async t => {
  const answers = [
    `HTTP/1.0 200 OK\r\nContent-Length: ${SUCCESS.length}\r\n\r\n${SUCCESS}`,
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${SUCCESS.length.toString(16)}\r\n${SUCCESS}\r\n0\r\n\r\n`,
    `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n${SUCCESS}`
  ]
  let n = 0
  const s = await rawServer(t, () => [answers[n++] as string])
  for (const want of [/not HTTP\/1\.1/, /chunked/, /Content-Length/]) {
    const err = await failure({ productKey: 'a1pk', deviceName: 'dev1' }, { url: s.url })
    t.ok(err instanceof BootstrapError)
    t.equal(err.status, null)
    t.match(err.message, want)
  }
})

t.test('no server: a BootstrapError without status', async t => {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise(resolve => server.close(resolve))
  const err = await failure({ productKey: 'a1pk', deviceName: 'dev1' }, { url: `http://127.0.0.1:${port}` })
  t.ok(err instanceof BootstrapError)
  t.equal(err.status, null)
  t.match(err.message, /unreachable/)
})

t.test('a bad URL is a clear error', async t => {
  await t.rejects(bootstrap({ productKey: 'a1pk', deviceName: 'dev1' }, { url: 'ftp://x' }), /http: or https: only/)
})

t.test('an abort closes the bootstrap connection in flight', async t => {
  let closed!: () => void
  const serverSawClose = new Promise<void>(resolve => { closed = resolve })
  // Reads the request and never answers.
  const server = net.createServer(socket => {
    socket.resume()
    socket.on('close', () => closed())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const controller = new AbortController()
  const pending = failure({ productKey: 'a1pk', deviceName: 'dev1' }, { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, timeoutMs: 600_000, signal: controller.signal })
  server.once('connection', () => setImmediate(() => controller.abort()))
  const err = await within(WAIT_MS, pending, 'the aborted bootstrap to fail')
  t.match(err.message, /aborted/)
  await within(WAIT_MS, serverSawClose, 'the server to see the aborted connection close')
  t.pass('the server saw the connection close')
})
