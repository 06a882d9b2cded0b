// Small leaks: an instance that does not exist answers like another account's; a device name that a
// spreadsheet would run as a formula is text in the records CSV; a request without a Host header gets
// a JSON answer (the device form on device paths).
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { rawRequest } from './helpers/raw-http.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store, undefined, { jobs: true })
t.teardown(() => sidecar.close())
const acme = apiClient(sidecar.url, TOKENS.acme)

const PK = 'a1LeakTest1'
const created = await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK })
if (created.status !== 201) throw new Error(`setup: ${created.text}`)
const NAMES = ['-lamp-0001', '@lamp-0002', 'lamp-0003']
const devices = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: NAMES })
if (devices.status !== 201) throw new Error(`setup: ${devices.text}`)

t.test('an unknown source instance answers exactly as another account\'s does', async t => {
  const job = (sourceInstanceId: string) => acme('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId, targetInstanceId: 'iot-de-1', productKey: PK, deviceNames: ['lamp-0003'] })
  const unknown = await job('iot-zz-9')
  const foreign = await job('iot-gx-1')
  t.equal(unknown.status, foreign.status, `both ${foreign.status}`)
  t.equal(unknown.status, 404)
  t.same(unknown.json, { error: { code: 'not_found', message: 'instance iot-zz-9 not found' } })
  t.same(foreign.json, { error: { code: 'not_found', message: 'instance iot-gx-1 not found' } })
})

t.test('device names that start like a formula are text in the records CSV', async t => {
  const job = await acme('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1', productKey: PK, deviceNames: NAMES })
  t.equal(job.status, 202, job.text)
  const deadline = Date.now() + 10_000
  let status = ''
  while (Date.now() < deadline) {
    status = (await acme('GET', `/distribution/jobs/${job.json.jobId as string}`)).json.status as string
    if (status === 'distributed' || status === 'failed') break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.equal(status, 'distributed', 'the job finished within 10 s')
  const records = await acme('GET', `/distribution/jobs/${job.json.jobId as string}/records`)
  t.equal(records.status, 200)
  const rows = records.text.trim().split('\n').slice(1).map(l => l.split(',')[1])
  t.same(rows, ['\'-lamp-0001', '\'@lamp-0002', 'lamp-0003'], 'a leading apostrophe before - and @, none before a letter')
  for (const line of records.text.split('\n')) {
    for (const cell of line.split(',')) t.notMatch(cell.replace(/^"/, ''), /^[=+\-@]/, `no cell starts a formula: ${cell}`)
  }
})

t.test('HTTP/1.1 without a Host header: a JSON 400, in the device form on the bootstrap path', async t => {
  const api = await rawRequest(sidecar.port, `GET /api/v1/instances HTTP/1.1\r\nAuthorization: Bearer ${TOKENS.acme}\r\n\r\n`)
  t.equal(api.status, 400)
  t.same(api.json, { error: { code: 'invalid', message: 'Host header is required' } })
  const body = `productKey=${PK}&deviceName=lamp-0003`
  const device = await rawRequest(sidecar.port, `POST /auth/bootstrap HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  t.equal(device.status, 400)
  t.same(device.json, { code: 400, message: 'Host header is required' })
  const old = await rawRequest(sidecar.port, 'GET /healthz HTTP/1.0\r\n\r\n')
  t.equal(old.status, 200, 'HTTP/1.0 needs no Host header')
})
