// The raw-socket reader the bootstrap tests rely on must itself fail on every docs/protocol.md, "Bootstrap" point,
// or the wire tests could not fail.
import t from 'tap'
import { readStrict } from './helpers/strict-http.js'

const GOOD_BODY = '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.example.com","port":1883}}},"message":"success"}'

function response (opts: { statusLine?: string, headers?: string[], body?: string } = {}): Buffer {
  const body = opts.body ?? GOOD_BODY
  const headers = opts.headers ?? ['Content-Type: application/json;charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`]
  return Buffer.from(`${opts.statusLine ?? 'HTTP/1.1 200 OK'}\r\n${headers.join('\r\n')}\r\n\r\n${body}`)
}

t.test('a good answer has no violations', async t => {
  t.same(readStrict(response()).violations, [])
})

t.test('each broken point is reported', async t => {
  const cases: [string, Buffer, RegExp][] = [
    ['HTTP/1.0 status line', response({ statusLine: 'HTTP/1.0 200 OK' }), /does not start with "HTTP\/1.1 "/],
    ['lower-case content-length', response({ headers: ['Content-Type: application/json', `content-length: ${GOOD_BODY.length}`] }), /exactly "Content-Length: "/],
    ['chunked encoding', response({ headers: ['Content-Type: application/json', 'Transfer-Encoding: chunked'] }), /Transfer-Encoding/],
    ['a header line over 128 bytes', response({ headers: ['Content-Type: application/json', `Content-Length: ${GOOD_BODY.length}`, `X-Long: ${'a'.repeat(120)}`] }), /longer than 128/],
    ['spaces in the JSON', response({ body: GOOD_BODY.replace('"host":', '"host": ') }), /not compact/],
    ['code differs from status', response({ statusLine: 'HTTP/1.1 404 Not Found', body: '{"code":400,"message":"x"}' }), /differs from status/],
    ['mqtt not first', response({ body: '{"code":200,"data":{"resources":{"other":{"host":"a","port":1},"mqtt":{"host":"mqtt.example.com","port":1883}}},"message":"success"}' }), /first "host"/],
    ['a body of 192 bytes or more', response({ body: GOOD_BODY.replace('mqtt.example.com', `${'m'.repeat(100)}.example.com`) }), /not under 192/],
    ['a body shorter than its Content-Length', response({ headers: ['Content-Type: application/json', 'Content-Length: 500'] }), /Content-Length says 500/]
  ]
  for (const [name, raw, expected] of cases) {
    const { violations } = readStrict(raw)
    t.ok(violations.some(v => expected.test(v)), `${name}: ${JSON.stringify(violations)}`)
  }
})
