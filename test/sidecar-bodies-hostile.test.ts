// Request bodies a client sends to hurt the sidecar: a multipart form cut short inside its file part,
// uploads and bodies that never end, JSON nested thousands deep. Each gets a JSON 4xx, early, and the
// sidecar keeps answering.
import net from 'node:net'
import t, { type Test } from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { streamRequest, rawRequest } from './helpers/raw-http.js'
import { apiClient, startTestSidecar, testConfig, TOKENS } from './helpers/test-sidecar.js'

const UPLOAD_LIMIT = 64 * 1024
const BODY_LIMIT = 16 * 1024
const store = new MemoryStore()
const sidecar = await startTestSidecar(store, testConfig({ bootstrap: { host: '127.0.0.1', port: 0, bodyLimit: BODY_LIMIT }, limits: { uploadBytes: UPLOAD_LIMIT } }))
t.teardown(() => sidecar.close())
const api = apiClient(sidecar.url, TOKENS.acme)

const GiB = 1024 * 1024 * 1024
/** Far less than the gigabyte the client offers: the answer comes once the limit is passed. */
const EARLY = 1024 * 1024

async function stillAnswers (t: Test): Promise<void> {
  const health = await fetch(`${sidecar.url}/healthz`)
  t.equal(health.status, 200, 'the sidecar still answers')
  const instances = await api('GET', '/instances')
  t.equal(instances.status, 200, 'and serves the API')
}

const multipartHead = (extra: string): string =>
  'POST /api/v1/distribution/jobs HTTP/1.1\r\nHost: sidecar\r\n' +
  `Authorization: Bearer ${TOKENS.acme}\r\nContent-Type: multipart/form-data; boundary=XX\r\n${extra}\r\n`
const filePart = '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\nproductKey,deviceName\r\n'

t.test('a multipart body that ends inside its file part is a 400 JSON answer, and the sidecar stays up', async t => {
  for (const auth of [true, false]) {
    const head = auth ? multipartHead(`Content-Length: ${filePart.length}\r\n`) : multipartHead(`Content-Length: ${filePart.length}\r\n`).replace(/Authorization: [^\r]*\r\n/, '')
    const answer = await rawRequest(sidecar.port, head + filePart)
    if (auth) {
      t.equal(answer.status, 400)
      t.same(answer.json, { error: { code: 'invalid', message: 'malformed multipart body: Unexpected end of form' } })
    } else {
      t.equal(answer.status, 401, 'without a token it is refused before the body is read')
    }
    await stillAnswers(t)
  }
})

t.test('a multipart body whose client goes away mid-file leaves the sidecar answering', async t => {
  await new Promise<void>(resolve => {
    const socket = net.connect(sidecar.port, '127.0.0.1', () => {
      socket.write(multipartHead('Content-Length: 100000\r\n') + filePart)
      setTimeout(() => { socket.destroy(); resolve() }, 100)
    })
    socket.on('error', () => resolve())
  })
  await stillAnswers(t)
})

t.test('a multipart upload that never ends is refused with 413 long before it is all sent', async t => {
  const { answer, sentBeforeAnswer } = await streamRequest(sidecar.port, multipartHead('Transfer-Encoding: chunked\r\n'), {
    chunk: Buffer.concat([Buffer.from(filePart), Buffer.alloc(64 * 1024 - filePart.length, 'a')]),
    total: GiB,
    chunked: true
  })
  t.equal(answer.status, 413)
  t.same(answer.json, { error: { code: 'too_large', message: `body larger than ${UPLOAD_LIMIT} bytes` } })
  t.ok(sentBeforeAnswer < EARLY, `answered after ${sentBeforeAnswer} of ${GiB} bytes`)
  t.match(answer.head, /\r\nConnection: close\r\n/i, 'and the connection is closed, the rest unread')
  await stillAnswers(t)
})

t.test('a multipart upload that declares a gigabyte is refused before its body is read', async t => {
  const { answer, sentBeforeAnswer } = await streamRequest(sidecar.port, multipartHead(`Content-Length: ${GiB}\r\n`), {
    chunk: Buffer.alloc(64 * 1024, 'a'),
    total: GiB,
    chunked: false
  })
  t.equal(answer.status, 413)
  t.ok(sentBeforeAnswer < EARLY, `answered after ${sentBeforeAnswer} bytes`)
  await stillAnswers(t)
})

t.test('a JSON body that never ends is refused with 413 while it streams', async t => {
  const head = 'POST /api/v1/products HTTP/1.1\r\nHost: sidecar\r\n' +
    `Authorization: Bearer ${TOKENS.acme}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`
  const { answer, sentBeforeAnswer } = await streamRequest(sidecar.port, head, { chunk: Buffer.alloc(64 * 1024, ' '), total: GiB, chunked: true })
  t.equal(answer.status, 413)
  t.same(answer.json, { error: { code: 'too_large', message: `body larger than ${BODY_LIMIT} bytes` } })
  t.ok(sentBeforeAnswer < EARLY, `answered after ${sentBeforeAnswer} of ${GiB} bytes`)
  await stillAnswers(t)
})

t.test('a bootstrap form that never ends is refused with 413 in the device form', async t => {
  const head = 'POST /auth/bootstrap HTTP/1.1\r\nHost: sidecar\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n'
  const { answer, sentBeforeAnswer } = await streamRequest(sidecar.port, head, { chunk: Buffer.alloc(64 * 1024, 'a'), total: GiB, chunked: true })
  t.equal(answer.status, 413)
  t.same(answer.json, { code: 413, message: `body larger than ${BODY_LIMIT} bytes` })
  t.ok(sentBeforeAnswer < EARLY, `answered after ${sentBeforeAnswer} of ${GiB} bytes`)
  await stillAnswers(t)
})

t.test('JSON nested 5,000 deep is a 400 that names the limit, and stores nothing', async t => {
  const tsl = '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}'
  const res = await api('POST', '/products', `{"instanceId":"iot-sh-1","name":"Deep","tsl":${tsl}}`)
  t.equal(res.status, 400)
  t.same(res.json, { error: { code: 'invalid', message: 'body nests deeper than 64 levels' } })
  const arrays = await api('POST', '/products', '{"a":'.repeat(1500) + '1' + '}'.repeat(1500))
  t.equal(arrays.status, 400, 'objects count too')
  t.same(await store.listProducts('iot-sh-1'), [])
  // Brackets inside strings are text, not nesting.
  const text = await api('POST', '/products', { instanceId: 'iot-sh-1', name: 'Brackets', tsl: { note: '{['.repeat(200) } })
  t.equal(text.status, 201, text.text)
})
