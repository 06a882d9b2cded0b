// Disable and enable a device through the management API: the owner of the instance the device
// lives at only, idempotent, shown in device reads, and a disabled device's bootstrap answered 403
// in the device-facing form.
import t from 'tap'
import { Metrics } from '../shared/metrics/metrics.js'
import { MemoryStore } from '../shared/store/memory.js'
import { exchange, readStrict, sdkForm, sdkRequest, type StrictResponse } from './helpers/strict-http.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store)
const metrics = new Metrics({ defaults: false })
// The routes read the sidecar's metrics at request time.
sidecar.sidecar.metrics = metrics
t.teardown(() => sidecar.close())
const acme = apiClient(sidecar.url, TOKENS.acme)
const globex = apiClient(sidecar.url, TOKENS.globex)
const anonymous = apiClient(sidecar.url, null)
const PK = 'a1disable01'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK })
await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['lamp-0001', 'lamp-0002', 'lamp-0003', 'lamp-0004', 'lamp-0005'] })

const path = (dn: string, action: 'disable' | 'enable', query = ''): string => `/products/${PK}/devices/${dn}/${action}${query}`

function bootstrap (dn: string): Promise<StrictResponse> {
  return exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK, deviceName: dn, clientId: `${PK}.${dn}` }))).then(e => readStrict(e.raw))
}

async function stateChanges (action: string): Promise<number> {
  const value = (await metrics.deviceStateChanges.get()).values.find(v => v.labels.action === action)
  return value?.value ?? 0
}

t.test('the owner disables a device and enables it again; both are idempotent', async t => {
  const off = await acme('POST', path('lamp-0001', 'disable'))
  t.equal(off.status, 200)
  t.match(off.json, { productKey: PK, deviceName: 'lamp-0001', instanceId: 'iot-sh-1', status: 'disabled', enabled: false, online: false })
  t.notOk('deviceSecret' in off.json, 'no secret in the answer')
  const again = await acme('POST', path('lamp-0001', 'disable'))
  t.equal(again.status, 200, 'disabling a disabled device is fine')
  t.same(again.json, off.json, 'and changes nothing')
  t.match((await acme('GET', `/products/${PK}/devices/lamp-0001`)).json, { status: 'disabled', enabled: false }, 'reads show it')
  const listed = (await acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1`)).json.devices.find((d: { deviceName: string }) => d.deviceName === 'lamp-0001')
  t.match(listed, { status: 'disabled', enabled: false }, 'listings show it')

  const on = await acme('POST', path('lamp-0001', 'enable', '?instanceId=iot-sh-1'))
  t.equal(on.status, 200)
  t.match(on.json, { status: 'inactive', enabled: true })
  t.equal((await acme('POST', path('lamp-0001', 'enable'))).status, 200, 'enabling an enabled device is fine')
  t.equal(await stateChanges('disable'), 1, 'a repeated disable is not counted')
  t.equal(await stateChanges('enable'), 1)
})

t.test('another account cannot see the device: 404, and nothing changes', async t => {
  const res = await globex('POST', path('lamp-0002', 'disable'))
  t.equal(res.status, 404)
  t.match(res.json, { error: { code: 'not_found' } })
  t.equal((await globex('POST', path('lamp-0002', 'disable', '?instanceId=iot-sh-1'))).status, 404, 'naming the instance does not help')
  t.equal((await store.getDevice(PK, 'lamp-0002'))?.enabled, true)
})

t.test('without a token: 401; unknown devices and instances: 404', async t => {
  const res = await anonymous('POST', path('lamp-0002', 'disable'))
  t.equal(res.status, 401)
  t.equal(res.headers.get('www-authenticate'), 'Bearer realm="homing"')
  t.equal((await acme('POST', path('ghost-001', 'disable'))).status, 404)
  t.equal((await acme('POST', '/products/nope0001/devices/lamp-0002/disable')).status, 404)
  t.equal((await acme('POST', path('lamp-0002', 'disable', '?instanceId=iot-gx-1'))).status, 404, 'another account\'s instance')
  t.equal((await acme('POST', path('lamp-0002', 'disable', '?instanceId=iot-de-1'))).status, 404, 'an instance of mine the device is not at')
  t.equal((await acme('GET', path('lamp-0002', 'disable'))).status, 405, 'POST only')
  t.equal((await store.getDevice(PK, 'lamp-0002'))?.enabled, true)
})

t.test('a distributed device is disabled by the owner of the instance it is assigned to, not by its source', async t => {
  await store.moveDevice(PK, 'lamp-0003', { from: 'iot-sh-1', to: 'iot-gx-1', jobId: 'job-cross' })
  t.equal((await acme('POST', path('lamp-0003', 'disable'))).status, 404, 'the source account no longer decides')
  const off = await globex('POST', path('lamp-0003', 'disable'))
  t.equal(off.status, 200)
  t.match(off.json, { instanceId: 'iot-gx-1', originInstanceId: null, distributed: true, status: 'disabled' })
  // And it stays disabled when it is distributed on: the state travels with the device.
  await store.moveDevice(PK, 'lamp-0003', { from: 'iot-gx-1', to: 'iot-sh-1', jobId: 'job-back' })
  t.match((await acme('GET', `/products/${PK}/devices/lamp-0003`)).json, { instanceId: 'iot-sh-1', status: 'disabled' })
  t.equal((await acme('POST', path('lamp-0003', 'enable'))).status, 200, 'now the source account\'s to enable')
})

t.test('a disabled device\'s bootstrap answers 403 in the device-facing form; enabled, it is answered again', async t => {
  await acme('POST', path('lamp-0004', 'disable'))
  const refused = await bootstrap('lamp-0004')
  t.same(refused.violations, [], 'a well-formed answer for the Link SDK')
  t.equal(refused.status, 403)
  t.equal(refused.body, '{"code":403,"message":"device disabled"}', 'compact, code equal to the status')
  await acme('POST', path('lamp-0004', 'enable'))
  const answered = await bootstrap('lamp-0004')
  t.equal(answered.status, 200)
  t.match(answered.body, /^\{"code":200,"data":\{"resources":\{"mqtt":\{"host":"mqtt.sh.example.com","port":1883\}\}\},"message":"success"\}$/)
})

t.test('a device waiting for nearest placement: its candidates\' owner disables it, and a bootstrap does not place it', async t => {
  await store.setCandidates(PK, 'lamp-0005', { from: 'iot-sh-1', candidates: [{ region: 'cn-shanghai', instanceId: 'iot-sh-1' }, { region: 'eu-central-1', instanceId: 'iot-de-1' }], jobId: 'job-nearest' })
  const off = await acme('POST', path('lamp-0005', 'disable', '?instanceId=iot-de-1'))
  t.equal(off.status, 200)
  t.match(off.json, { instanceId: null, status: 'disabled' })
  t.equal((await bootstrap('lamp-0005')).status, 403)
  t.equal((await store.getDevice(PK, 'lamp-0005'))?.instanceId, null, 'still waiting for placement')
  await acme('POST', path('lamp-0005', 'enable'))
  t.equal((await bootstrap('lamp-0005')).status, 200)
  t.equal((await store.getDevice(PK, 'lamp-0005'))?.instanceId, 'iot-sh-1', 'placed on its first bootstrap once enabled')
})
