// The management API is behind bearer tokens, and an account sees only its own instances.
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const sidecar = await startTestSidecar(new MemoryStore())
t.teardown(() => sidecar.close())

const raw = (path: string, headers: Record<string, string>) => fetch(`${sidecar.url}/api/v1${path}`, { headers })

t.test('no token, or a token that is not an account\'s, is a 401 with a JSON error', async t => {
  const none = await apiClient(sidecar.url, null)('GET', '/instances')
  t.equal(none.status, 401)
  t.equal(none.json.error.code, 'unauthorized')
  t.match(none.json.error.message, /Bearer/)
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="homing"')
  t.match(none.headers.get('content-type'), /^application\/json/)

  for (const token of ['wrong-token-0123456789abcdef', TOKENS.acme.slice(0, -1), `${TOKENS.acme}x`, TOKENS.acme.toUpperCase()]) {
    const res = await apiClient(sidecar.url, token)('GET', '/instances')
    t.equal(res.status, 401, 'a near miss is refused')
    t.same(res.json, { error: { code: 'unauthorized', message: 'invalid token' } })
  }
  for (const header of [`Basic ${TOKENS.acme}`, 'Bearer', `Bearer ${TOKENS.acme} extra`, TOKENS.acme]) {
    const res = await raw('/instances', { Authorization: header })
    t.equal(res.status, 401, `Authorization: ${header.replace(TOKENS.acme, '<token>')}`)
  }
})

t.test('the scheme is case-insensitive', async t => {
  const res = await raw('/instances', { Authorization: `bearer ${TOKENS.acme}` })
  t.equal(res.status, 200)
})

t.test('an account sees its own instances and their regions only', async t => {
  const acme = await apiClient(sidecar.url, TOKENS.acme)('GET', '/instances')
  t.equal(acme.status, 200)
  t.same(acme.json.instances.map((i: { id: string }) => i.id), ['iot-sh-1', 'iot-de-1'])
  t.same(acme.json.instances[1], { id: 'iot-de-1', region: 'eu-central-1', endpoint: { host: 'mqtt.de.example.com', port: 8883, ip: '192.0.2.10' }, devices: { total: 0, online: 0, offline: 0, inactive: 0, disabled: 0 } })
  t.same(acme.json.regions.map((r: { id: string }) => r.id), ['cn-shanghai', 'eu-central-1'])

  const globex = await apiClient(sidecar.url, TOKENS.globex)('GET', '/instances')
  t.same(globex.json.instances.map((i: { id: string }) => i.id), ['iot-gx-1'])
  t.same(globex.json.regions, [{ id: 'eu-central-1', name: 'Germany (Frankfurt)', lat: 50.11, lon: 8.68 }])
})

t.test('another account\'s instance answers exactly like one that does not exist', async t => {
  const api = apiClient(sidecar.url, TOKENS.acme)
  const theirs = await api('GET', '/products?instanceId=iot-gx-1')
  const none = await api('GET', '/products?instanceId=iot-zz-9')
  t.equal(theirs.status, 404)
  t.equal(none.status, 404)
  t.equal(theirs.json.error.message.replace('iot-gx-1', 'X'), none.json.error.message.replace('iot-zz-9', 'X'))
})

t.test('every API answer carries a request id; unknown routes and methods are JSON errors', async t => {
  const api = apiClient(sidecar.url, TOKENS.acme)
  const ok = await api('GET', '/instances')
  t.match(ok.headers.get('x-request-id'), /^[0-9a-f]{12}$/)
  const missing = await api('GET', '/nothing-here')
  t.equal(missing.status, 404)
  t.equal(missing.json.error.code, 'not_found')
  t.match(missing.headers.get('x-request-id'), /^[0-9a-f]{12}$/)
  const method = await api('DELETE', '/instances')
  t.equal(method.status, 405)
  t.equal(method.json.error.code, 'method_not_allowed')
  t.match(method.headers.get('allow'), /GET/)
})
