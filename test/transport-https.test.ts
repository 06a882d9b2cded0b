// bootstrap.httpsPort: the sidecar's app on an HTTPS server answers with the same bytes as over HTTP,
// as the Link SDK's strict reader sees them; the tls block's files are checked at start.
import https from 'node:https'
import t from 'tap'
import { Topology } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import { MemoryStore } from '../shared/store/memory.js'
import { loadTls } from '../shared/tls.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { product } from './helpers/fixtures.js'
import { makeCerts } from './helpers/certs.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { testConfig } from './helpers/test-sidecar.js'

const certs = makeCerts()
t.teardown(() => certs.remove())

const config = testConfig({ bootstrap: { host: '127.0.0.1', port: 0, httpsPort: 0 }, tls: { cert: certs.cert, key: certs.key, ca: certs.ca } })
const store = new MemoryStore()
await store.createProduct(product('a1httpsProd', 'iot-sh-1'))
await store.createDevices([newDevice('a1httpsProd', 'lamp-1', 'iot-sh-1')])
const server = await startSidecar({ config, topology: new Topology(config), store, log: silentLogger })
t.teardown(() => server.close())

// The device trusts the root only: the server must send the intermediate (tls.ca) with its leaf.
const secure = { ca: certs.root, servername: 'localhost' }

const requests: Record<string, Buffer> = {
  'a placed device (200)': sdkRequest(sdkForm({ productKey: 'a1httpsProd', deviceName: 'lamp-1', clientId: 'a1httpsProd.lamp-1', resources: 'mqtt' })),
  'an unknown device (404)': sdkRequest(sdkForm({ productKey: 'a1httpsProd', deviceName: 'nobody' })),
  'a missing field (400)': sdkRequest(sdkForm({ productKey: 'a1httpsProd' }))
}

t.test('HTTPS answers every bootstrap request with the bytes HTTP answers, and they pass the strict reader', async t => {
  t.type(server.httpsPort, 'number')
  t.not(server.httpsPort, server.port)
  for (const [name, request] of Object.entries(requests)) {
    const plain = await exchange(server.port, request)
    const tls = await exchange(server.httpsPort as number, request, 5000, secure)
    const answer = readStrict(tls.raw)
    t.same(answer.violations, [], `${name}: no docs/protocol.md, "Bootstrap" violation over TLS`)
    t.equal(tls.raw.toString('latin1').replace(/\r\nDate: [^\r]*/, ''), plain.raw.toString('latin1').replace(/\r\nDate: [^\r]*/, ''), `${name}: same bytes as over HTTP (Date aside)`)
  }
  const ok = readStrict((await exchange(server.httpsPort as number, requests['a placed device (200)'] as Buffer, 5000, secure)).raw)
  t.equal(ok.body, '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.sh.example.com","port":1883}}},"message":"success"}')
})

t.test('a client that does not trust the chain is refused by its own TLS check', async t => {
  await t.rejects(exchange(server.httpsPort as number, requests['a placed device (200)'] as Buffer, 5000, { servername: 'localhost' }), { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' })
})

t.test('health and readiness answer over HTTPS too', async t => {
  const get = (path: string) => new Promise<{ status: number, body: string }>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: server.httpsPort as number, path, ...secure }, res => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
  t.same(await get('/healthz'), { status: 200, body: '{"status":"ok"}' })
  t.same(await get('/readyz'), { status: 200, body: '{"status":"ready"}' })
})

t.test('the tls block is checked at start: each bad file is named by its key', async t => {
  const bad = (tls: Record<string, string>) => () => loadTls(testConfig({ tls }))
  t.throws(bad({ cert: `${certs.dir}/missing.pem`, key: certs.key }), { name: 'ConfigError', message: /^tls\.cert: cannot read .*missing\.pem \(ENOENT\)$/ })
  t.throws(bad({ cert: certs.cert, key: `${certs.dir}/server.ext` }), { name: 'ConfigError', message: /^tls\.key: .*server\.ext is not a PEM file$/ })
  t.throws(bad({ cert: certs.cert, key: certs.key, ca: `${certs.dir}/nope.pem` }), { name: 'ConfigError', message: /^tls\.ca: cannot read/ })
  t.throws(bad({ cert: certs.cert, key: certs.otherKey }), { name: 'ConfigError', message: /^tls: the certificate and key cannot be used together/ })
  t.equal(loadTls(testConfig()), null, 'no tls block, nothing to load')
})
