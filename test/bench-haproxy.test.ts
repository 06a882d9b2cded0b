// The bootstrap bench's HAProxy variant: its figures from what was measured, and the configuration
// it runs HAProxy with (docs/operations.md, "Behind a load balancer"). No timings measured here.
import t from 'tap'
import { HOMING, NODE_HTTP, NODE_HTTP_KA, type HttpRun } from '../bench/figures.js'
import { haproxyConfig } from '../bench/haproxy.js'
import { haproxyFigures } from '../bench/scenarios/bootstrap-rate.js'

const result = (rate: number, requests: number): HttpRun['result'] => ({ rate, requests, statuses: { 200: requests }, errors: {}, latency: '', serverClosed: 0 })

const direct: HttpRun[] = [
  { server: HOMING, mode: 'new-connection', result: result(100, 1500), cpuPerRequest: 1000 },
  { server: NODE_HTTP, mode: 'new-connection', result: result(500, 7500), cpuPerRequest: 200 },
  { server: NODE_HTTP_KA, mode: 'keep-alive', result: result(2000, 30_000), cpuPerRequest: 50 }
]

t.test('without haproxy there are no HAProxy figures', async t => {
  t.same(haproxyFigures([], direct), [])
})

t.test('through HAProxy: the rate beside the direct ones, and requests per sidecar core-second', async t => {
  const figures = haproxyFigures([{ server: 'Homing sidecar behind HAProxy', mode: 'new-connection', result: result(300, 4500), cpuPerRequest: 400, proxyCpuPerRequest: 100, backend: { connect: 50, reuse: 4450 } }], direct)
  t.equal(figures.length, 2)
  const [rate, perCore] = figures
  t.equal(rate?.value, 300)
  t.same(rate?.baselines.map(b => b.name), [`${HOMING}, direct, Connection: close`, NODE_HTTP, NODE_HTTP_KA])
  t.match(rate?.detail, /sidecar 400 µs CPU\/request, HAProxy 100 µs; to the sidecar 4450 requests on kept connections, 50 on new ones/)
  t.equal(perCore?.value, 2500, '1,000,000 µs / 400 µs')
  t.same(perCore?.baselines.map(b => b.value), [1000, 5000, 20_000])
  t.match(perCore?.detail, /sidecar and HAProxy together: 2000 req\/core-s/)
})

t.test('the HAProxy configuration keeps backend connections, spells Content-Length as the SDK reads it, and drops the sidecar\'s Keep-Alive', async t => {
  const config = haproxyConfig(18080, { host: '10.0.4.11', port: 8080 })
  t.match(config, /\n {2}bind 127\.0\.0\.1:18080\n/)
  t.match(config, /\n {2}server sidecar1 10\.0\.4\.11:8080\n/)
  t.match(config, /\n {2}http-reuse always\n/)
  t.match(config, /\n {2}h1-case-adjust content-length Content-Length\n/)
  t.match(config, /\n {2}option h1-case-adjust-bogus-client\n/)
  t.match(config, /\n {2}http-response del-header keep-alive\n/)
  t.notMatch(config, /stats socket/, 'no stats socket unless asked')
})
