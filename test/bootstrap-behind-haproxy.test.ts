// docs/operations.md, "Behind a load balancer": through HAProxy configured as that page shows
// (bench/haproxy.ts writes it), the Link SDK's strict reader still accepts the answer, and the
// requests of many devices reach the sidecar on connections HAProxy keeps open. CI installs haproxy
// (.ci/run): no skip there.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { haproxyBinary, startHaproxy } from '../bench/haproxy.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { Topology } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import { Metrics } from '../shared/metrics/index.js'
import { MemoryStore } from '../shared/store/memory.js'
import { product } from './helpers/fixtures.js'
import { scrapeSample as scrape } from './helpers/scrape.js'
import { exchange, readStrict, sdkRequest } from './helpers/strict-http.js'
import { testConfig } from './helpers/test-sidecar.js'

const binary = haproxyBinary()
const PK = 'a1behindLb01'
const ANSWER = '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.sh.example.com","port":1883}}},"message":"success"}'

t.test('through HAProxy, devices one after another', { skip: binary === null && 'haproxy not installed (apt-get install haproxy)' }, async t => {
  const store = new MemoryStore()
  await store.createProduct(product(PK, 'iot-sh-1'))
  await store.createDevices(Array.from({ length: 5 }, (_, i) => newDevice(PK, `lamp-000${i}`, 'iot-sh-1')))
  // HAProxy connects to the sidecar from 127.0.0.1; the devices connect to HAProxy.
  const config = testConfig({ bootstrap: { host: '127.0.0.1', port: 0, keepAlive: { proxies: ['127.0.0.1'] } } })
  const metrics = new Metrics({ defaults: false })
  const sidecar = await startSidecar({ config, topology: new Topology(config), store, log: silentLogger, metrics })
  const dir = mkdtempSync(join(tmpdir(), 'homing-haproxy-'))
  const proxy = await startHaproxy(binary as string, dir, { host: '127.0.0.1', port: sidecar.port })
  t.teardown(async () => {
    await proxy.stop()
    await sidecar.close()
    rmSync(dir, { recursive: true, force: true })
  })

  for (let i = 0; i < 5; i++) {
    const { raw } = await exchange(proxy.port, sdkRequest(`productKey=${PK}&deviceName=lamp-000${i}&clientId=${PK}.lamp-000${i}&resources=mqtt`))
    const res = readStrict(raw)
    t.same(res.violations, [], `device ${i}: the Link SDK's reader accepts HAProxy's answer (Content-Length spelled as it reads it)`)
    t.equal(res.body, ANSWER)
    t.notOk(res.headers.has('keep-alive'), 'the sidecar\'s Keep-Alive header, about HAProxy\'s connection, is not passed on')
  }
  const backend = await proxy.backendConnections()
  t.equal(backend.connect + backend.reuse, 5, 'five requests reached the sidecar')
  t.ok(backend.reuse >= 4, `on one connection kept open (${backend.connect} new, ${backend.reuse} reused)`)
  t.equal(await scrape(sidecar.port, 'homing_http_kept_connections'), 1, 'the sidecar holds that one connection open')
})
