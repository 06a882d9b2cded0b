// GET /api/v1/openapi.json: an OpenAPI 3.1 document made from the zod schemas the routes validate
// with. Every route the live app answers under /api/v1 is described, and nothing else is.
import type Router from '@koa/router'
import t from 'tap'
import { createFaces } from '../bootstrap/app.js'
import { liveRoutes } from '../bootstrap/api/openapi.js'
import { Topology } from '../shared/config.js'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, testConfig, TOKENS } from './helpers/test-sidecar.js'

const sidecar = await startTestSidecar(new MemoryStore())
t.teardown(() => sidecar.close())
const acme = apiClient(sidecar.url, TOKENS.acme)

/** The routers of the API face as it runs: each router's middleware carries its router. */
function apiRoutesOfTheApp (): string[] {
  const config = testConfig()
  const app = createFaces({ config, topology: new Topology(config), store: new MemoryStore(), log: sidecar.sidecar.log }).api
  const routers = app.middleware.map(m => (m as { router?: Router }).router).filter((r): r is Router => r !== undefined)
  const api = routers.filter(r => r.stack.some(layer => String(layer.path).startsWith('/api/v1/')))
  t.ok(api.length > 0, 'the app has a router under /api/v1')
  return api.flatMap(r => liveRoutes(r)).map(r => `${r.method} ${r.path}`)
}

t.test('the document is OpenAPI 3.1, behind the token like every API path', async t => {
  t.equal((await apiClient(sidecar.url, null)('GET', '/openapi.json')).status, 401)
  const res = await acme('GET', '/openapi.json')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.match(res.json, { openapi: '3.1.0', info: { title: String, version: String }, servers: [{ url: '/api/v1' }], components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } })
})

t.test('every route the app answers under /api/v1 is described, and only those', async t => {
  const doc = (await acme('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> }
  const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map(m => `${m.toUpperCase()} ${path}`)).sort()
  const live = apiRoutesOfTheApp().sort()
  t.ok(live.length >= 20, `the live router lists the API's routes (${live.length})`)
  t.same(live.filter(r => !described.includes(r)), [], 'no live route is missing from the document')
  t.same(described.filter(r => !live.includes(r)), [], 'the document describes no route that does not exist')
})

t.test('request schemas are the validating zod schemas, as JSON Schema', async t => {
  const doc = (await acme('GET', '/openapi.json')).json
  const createProduct = doc.paths['/products'].post
  t.match(createProduct.requestBody.content['application/json'].schema, {
    type: 'object',
    additionalProperties: false,
    required: ['instanceId', 'name'],
    properties: { productKey: { type: 'string', pattern: String }, name: { type: 'string', maxLength: 64 } }
  }, 'strict objects refuse unknown fields, as the API does')
  const job = doc.paths['/distribution/jobs'].post
  t.match(job.requestBody.content['application/json'].schema.properties.method, { enum: ['this-account', 'cross-account'] })
  t.ok(job.requestBody.content['multipart/form-data'], 'a job can be uploaded as a form with a CSV file')
  t.match(job.parameters, [{ name: 'dryRun', in: 'query', required: false, schema: { enum: ['true', 'false'] } }])
  const devices = doc.paths['/products/{pk}/devices'].get
  t.match(devices.parameters.map((p: { name: string, in: string }) => `${p.in}:${p.name}`), ['path:pk', 'query:instanceId', 'query:status', 'query:prefix', 'query:tag', 'query:cursor', 'query:offset', 'query:limit'])
  t.match(doc.paths['/distribution/jobs/{id}/records'].get.responses['200'].content, { 'text/csv': {} })
  const events = doc.paths['/products/{pk}/devices/{dn}/events'].get
  t.match(events.parameters.map((p: { name: string, in: string }) => `${p.in}:${p.name}`), ['path:pk', 'path:dn', 'query:instanceId', 'query:limit'])
  t.match(events.responses['200'].content['application/json'].schema, {
    type: 'object',
    required: ['productKey', 'deviceName', 'limit', 'events'],
    properties: { events: { type: 'array', items: { anyOf: Array } } }
  }, 'a device\'s timeline answer is described by its zod schema')
})
