// Isolation everywhere (README.md, "Management API": an account sees and changes only its own
// instances, products, devices and jobs). Every /api/v1 route the app mounts is in the table below,
// asked by another account: what it names answers 404 (403 for a target instance that exists but is
// not the caller's), listings show nothing of it, and the owner's own request proves each row can tell.
import t from 'tap'
import { createFaces } from '../bootstrap/app.js'
import { Topology } from '../shared/config.js'
import { silentLogger } from '../shared/log.js'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, testConfig, TOKENS, type ApiAnswer } from './helpers/test-sidecar.js'

const config = testConfig({
  instances: [
    { id: 'iot-sh-1', region: 'cn-shanghai', account: 'acme', endpoint: { host: 'mqtt.sh.example.com', port: 1883 } },
    { id: 'iot-de-1', region: 'eu-central-1', account: 'acme', endpoint: { host: 'mqtt.de.example.com', port: 1883 } },
    { id: 'iot-gx-1', region: 'eu-central-1', account: 'globex', endpoint: { host: 'mqtt.gx1.example.com', port: 1883 } },
    { id: 'iot-gx-2', region: 'cn-shanghai', account: 'globex', endpoint: { host: 'mqtt.gx2.example.com', port: 1883 } }
  ]
})
const ts = await startTestSidecar(new MemoryStore(), config)
t.teardown(() => ts.close())
const acme = apiClient(ts.url, TOKENS.acme)
const globex = apiClient(ts.url, TOKENS.globex)

// Acme's things, which globex must not reach.
const PK = 'a1IsoAcme01'
const GPK = 'a1IsoGlobex'
async function must (answer: Promise<ApiAnswer>, status: number): Promise<ApiAnswer> {
  const res = await answer
  if (res.status !== status) throw new Error(`setup: ${res.status} ${res.text}`)
  return res
}
await must(acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Acme lamp', productKey: PK }), 201)
await must(acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['acme-lamp-1', 'acme-lamp-2', 'acme-lamp-del'] }), 201)
const JOB = (await must(acme('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1', productKey: PK, deviceNames: ['acme-lamp-2'] }), 202)).json.jobId as string
await must(globex('POST', '/products', { instanceId: 'iot-gx-1', name: 'Globex meter', productKey: GPK }), 201)
await must(globex('POST', `/products/${GPK}/devices`, { instanceId: 'iot-gx-1', deviceNames: ['gx-meter-1'] }), 201)

/** Strings that name acme's things: none may appear in an answer to globex. */
const ACME_NAMES = [PK, 'acme-lamp', JOB, 'iot-sh-1', 'iot-de-1', 'Acme lamp']

interface Row {
  /** The route as mounted, `METHOD /path/:param` under /api/v1. */
  route: string
  what: string
  other: () => Promise<ApiAnswer>
  status: number
  /** The owner's (or a rightful) request on the same thing, and what it gets: shows that the row can fail. */
  control?: { run: () => Promise<ApiAnswer>, status: number }
}

const job = (body: Record<string, unknown>) => ({ method: 'this-account', policy: 'region', productKey: GPK, deviceNames: ['gx-meter-1'], ...body })

const rows: Row[] = [
  { route: 'GET /instances', what: 'lists only the caller\'s instances', other: () => globex('GET', '/instances'), status: 200 },
  { route: 'GET /instances/:id/connections', what: 'another account\'s instance\'s connections', other: () => globex('GET', '/instances/iot-sh-1/connections'), status: 404, control: { run: () => acme('GET', '/instances/iot-sh-1/connections?minutes=5'), status: 200 } },
  { route: 'GET /instances/:id/connections', what: 'an instance that does not exist', other: () => globex('GET', '/instances/iot-nowhere/connections'), status: 404 },
  { route: 'GET /products', what: 'another account\'s instance', other: () => globex('GET', '/products?instanceId=iot-sh-1'), status: 404, control: { run: () => acme('GET', '/products?instanceId=iot-sh-1'), status: 200 } },
  { route: 'GET /products', what: 'lists only the caller\'s products', other: () => globex('GET', '/products'), status: 200 },
  { route: 'POST /products', what: 'a product at another account\'s instance', other: () => globex('POST', '/products', { instanceId: 'iot-sh-1', name: 'Intruder' }), status: 404, control: { run: () => acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Second' }), status: 201 } },
  { route: 'GET /products/:pk', what: 'another account\'s product', other: () => globex('GET', `/products/${PK}`), status: 404, control: { run: () => acme('GET', `/products/${PK}`), status: 200 } },
  { route: 'GET /products/:pk', what: 'another account\'s product at its instance', other: () => globex('GET', `/products/${PK}?instanceId=iot-sh-1`), status: 404 },
  { route: 'PATCH /products/:pk', what: 'editing another account\'s product', other: () => globex('PATCH', `/products/${PK}?instanceId=iot-sh-1`, { name: 'Mine now' }), status: 404, control: { run: () => acme('PATCH', `/products/${PK}`, { name: 'Acme lamp' }), status: 200 } },
  { route: 'DELETE /products/:pk', what: 'deleting another account\'s product', other: () => globex('DELETE', `/products/${PK}`), status: 404, control: { run: () => acme('DELETE', `/products/${PK}`), status: 409 } },
  { route: 'POST /products/:pk/devices', what: 'devices under another account\'s product', other: () => globex('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['intruder-1'] }), status: 404, control: { run: () => acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['acme-lamp-3'] }), status: 201 } },
  { route: 'POST /products/:pk/devices', what: 'devices at another account\'s instance under the caller\'s product key', other: () => globex('POST', `/products/${GPK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['intruder-2'] }), status: 404 },
  { route: 'GET /products/:pk/devices', what: 'another account\'s device list', other: () => globex('GET', `/products/${PK}/devices`), status: 404, control: { run: () => acme('GET', `/products/${PK}/devices`), status: 200 } },
  { route: 'GET /products/:pk/devices/:dn', what: 'another account\'s device', other: () => globex('GET', `/products/${PK}/devices/acme-lamp-1`), status: 404, control: { run: () => acme('GET', `/products/${PK}/devices/acme-lamp-1`), status: 200 } },
  { route: 'GET /products/:pk/devices/:dn', what: 'another account\'s device, naming its instance', other: () => globex('GET', `/products/${PK}/devices/acme-lamp-1?instanceId=iot-sh-1`), status: 404 },
  { route: 'GET /products/:pk/devices/:dn/certificate', what: 'another account\'s device secret', other: () => globex('GET', `/products/${PK}/devices/acme-lamp-1/certificate`), status: 404, control: { run: () => acme('GET', `/products/${PK}/devices/acme-lamp-1/certificate`), status: 200 } },
  { route: 'GET /products/:pk/devices/:dn/events', what: 'another account\'s device timeline', other: () => globex('GET', `/products/${PK}/devices/acme-lamp-1/events`), status: 404, control: { run: () => acme('GET', `/products/${PK}/devices/acme-lamp-1/events`), status: 200 } },
  { route: 'GET /products/:pk/devices/:dn/events', what: 'another account\'s device timeline, naming its instance', other: () => globex('GET', `/products/${PK}/devices/acme-lamp-1/events?instanceId=iot-sh-1&limit=5`), status: 404 },
  { route: 'PUT /products/:pk/devices/:dn/tags', what: 'tagging another account\'s device', other: () => globex('PUT', `/products/${PK}/devices/acme-lamp-1/tags`, { owner: 'globex' }), status: 404, control: { run: () => acme('PUT', `/products/${PK}/devices/acme-lamp-1/tags`, { owner: 'acme' }), status: 200 } },
  { route: 'POST /products/:pk/devices/:dn/disable', what: 'disabling another account\'s device', other: () => globex('POST', `/products/${PK}/devices/acme-lamp-1/disable`), status: 404, control: { run: () => acme('POST', `/products/${PK}/devices/acme-lamp-1/disable`), status: 200 } },
  { route: 'POST /products/:pk/devices/:dn/enable', what: 'enabling another account\'s device', other: () => globex('POST', `/products/${PK}/devices/acme-lamp-1/enable?instanceId=iot-sh-1`), status: 404, control: { run: () => acme('POST', `/products/${PK}/devices/acme-lamp-1/enable`), status: 200 } },
  { route: 'DELETE /products/:pk/devices/:dn', what: 'deleting another account\'s device', other: () => globex('DELETE', `/products/${PK}/devices/acme-lamp-del`), status: 404, control: { run: () => acme('DELETE', `/products/${PK}/devices/acme-lamp-del`), status: 204 } },
  { route: 'GET /distribution/template.csv', what: 'the template names nobody\'s things', other: () => globex('GET', '/distribution/template.csv'), status: 200 },
  { route: 'POST /distribution/jobs', what: 'a job from another account\'s instance', other: () => globex('POST', '/distribution/jobs', job({ sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-gx-1', productKey: PK, deviceNames: ['acme-lamp-1'] })), status: 404 },
  { route: 'POST /distribution/jobs', what: 'a cross-account job out of another account\'s instance', other: () => globex('POST', '/distribution/jobs', job({ method: 'cross-account', sourceInstanceId: 'iot-sh-1', productKey: PK, deviceNames: ['acme-lamp-1'], targetAccount: 'acme', targetInstanceId: 'iot-de-1', verificationCode: '123456' })), status: 404 },
  { route: 'POST /distribution/jobs', what: 'a this-account job into another account\'s instance', other: () => globex('POST', '/distribution/jobs', job({ sourceInstanceId: 'iot-gx-1', targetInstanceId: 'iot-sh-1' })), status: 403, control: { run: () => globex('POST', '/distribution/jobs', job({ sourceInstanceId: 'iot-gx-1', targetInstanceId: 'iot-gx-2' })), status: 202 } },
  { route: 'POST /distribution/jobs', what: 'a nearest job with another account\'s instance among its targets', other: () => globex('POST', '/distribution/jobs', job({ policy: 'nearest', sourceInstanceId: 'iot-gx-1', targets: [{ region: 'cn-shanghai', instanceId: 'iot-sh-1' }] })), status: 403, control: { run: () => globex('POST', '/distribution/jobs', job({ policy: 'nearest', sourceInstanceId: 'iot-gx-1', targets: [{ region: 'cn-shanghai', instanceId: 'iot-gx-2' }] })), status: 202 } },
  { route: 'POST /distribution/jobs', what: 'a preview (dryRun) of a job from another account\'s instance', other: () => globex('POST', '/distribution/jobs?dryRun=true', job({ sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-gx-1', productKey: PK, deviceNames: ['acme-lamp-1'] })), status: 404, control: { run: () => acme('POST', '/distribution/jobs?dryRun=true', { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1', productKey: PK, deviceNames: ['acme-lamp-1'] }), status: 200 } },
  { route: 'GET /distribution/jobs', what: 'lists only the caller\'s jobs', other: () => globex('GET', '/distribution/jobs'), status: 200 },
  { route: 'GET /distribution/jobs/:id', what: 'another account\'s job', other: () => globex('GET', `/distribution/jobs/${JOB}`), status: 404, control: { run: () => acme('GET', `/distribution/jobs/${JOB}`), status: 200 } },
  { route: 'POST /distribution/jobs/:id/retry', what: 'retrying another account\'s job', other: () => globex('POST', `/distribution/jobs/${JOB}/retry`), status: 404, control: { run: () => acme('POST', `/distribution/jobs/${JOB}/retry`), status: 202 } },
  { route: 'GET /distribution/jobs/:id/records', what: 'another account\'s job records', other: () => globex('GET', `/distribution/jobs/${JOB}/records`), status: 404, control: { run: () => acme('GET', `/distribution/jobs/${JOB}/records`), status: 200 } },
  { route: 'GET /distribution/devices', what: 'lists only what the caller distributed or received', other: () => globex('GET', '/distribution/devices'), status: 200 },
  { route: 'GET /distribution/products', what: 'lists only the caller\'s copies', other: () => globex('GET', '/distribution/products'), status: 200 },
  { route: 'POST /distribution/verification-codes', what: 'a code for another account goes to that account, not back to the caller', other: () => globex('POST', '/distribution/verification-codes', { targetAccount: 'acme' }), status: 202 },
  { route: 'GET /distribution/verification-codes', what: 'lists only codes addressed to the caller', other: () => acme('GET', '/distribution/verification-codes'), status: 200 },
  { route: 'GET /openapi.json', what: 'the API\'s description names nobody\'s things', other: () => globex('GET', '/openapi.json'), status: 200 }
]

t.test('the table covers every /api/v1 route the API face mounts', async t => {
  const app = createFaces({ config, topology: new Topology(config), store: new MemoryStore(), log: silentLogger }).api
  const mounted = new Set<string>()
  // @koa/router keeps its layers on the dispatch middleware it hands to Koa.
  for (const mw of app.middleware as { router?: { stack: { methods: string[], path: string }[] } }[]) {
    for (const layer of mw.router?.stack ?? []) {
      if (!layer.path.startsWith('/api/v1/')) continue
      for (const method of layer.methods.filter(m => m !== 'HEAD')) mounted.add(`${method} ${layer.path.slice('/api/v1'.length)}`)
    }
  }
  t.ok(mounted.size >= 20)
  const covered = new Set(rows.map(r => r.route))
  for (const route of mounted) t.ok(covered.has(route), `${route} is in the table`)
})

for (const row of rows) {
  t.test(`${row.route}: ${row.what} -> ${row.status}`, async t => {
    const res = await row.other()
    t.equal(res.status, row.status, res.text)
    if (row.status === 404) t.equal(res.json.error.code, 'not_found')
    if (row.status === 403) t.equal(res.json.error.code, 'forbidden')
    // A refusal may echo what was asked for; an answer that lists things must not name acme's.
    if (row.status < 300) for (const name of ACME_NAMES) t.notOk(res.text.includes(name), `the answer does not name ${name}`)
    if (row.control) {
      const ok = await row.control.run()
      t.equal(ok.status, row.control.status, `control: ${ok.text}`)
    }
  })
}

t.test('a code globex asked for acme went to acme only', async t => {
  const [code] = (await acme('GET', '/distribution/verification-codes')).json.codes
  t.match(code, { sourceAccount: { id: 'globex' }, code: /^\d{6}$/ })
  t.same((await globex('GET', '/distribution/verification-codes')).json.codes, [])
})

t.test('another account\'s product or device looks exactly like one that does not exist', async t => {
  const theirs = await globex('GET', `/products/${PK}/devices/acme-lamp-1`)
  const none = await globex('GET', `/products/${PK}/devices/nobody-here`)
  t.same(theirs.json.error.message.replace('acme-lamp-1', 'X'), none.json.error.message.replace('nobody-here', 'X'))
  const job = await globex('GET', `/distribution/jobs/${JOB}`)
  const noJob = await globex('GET', '/distribution/jobs/j0000nothing')
  t.same(job.json.error.message.replace(JOB, 'X'), noJob.json.error.message.replace('j0000nothing', 'X'))
})

t.test('acme\'s things are all still there and unchanged by globex', async t => {
  t.equal((await acme('GET', `/products/${PK}`)).json.name, 'Acme lamp')
  t.same((await acme('GET', `/products/${PK}/devices/acme-lamp-1`)).json.tags, { owner: 'acme' })
  t.equal((await acme('GET', `/products/${PK}/devices/intruder-1`)).status, 404)
})

t.test('tokens never reach the logs', async t => {
  t.ok(ts.lines.length > 0)
  for (const line of ts.lines) t.notOk(line.includes(TOKENS.acme) || line.includes(TOKENS.globex), line)
})
