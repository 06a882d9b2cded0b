// One rule decides both routing and authentication: every spelling of every management route (letter
// case, doubled or trailing slashes, percent-encoding, dot segments) without a valid token is a 401,
// and with one is never a 500. The routes are read from the live API face, so a new route is covered.
import t from 'tap'
import { createFaces } from '../bootstrap/app.js'
import { Topology } from '../shared/config.js'
import { silentLogger } from '../shared/log.js'
import { MemoryStore } from '../shared/store/memory.js'
import { rawRequest, type RawAnswer } from './helpers/raw-http.js'
import { startTestSidecar, testConfig, TOKENS } from './helpers/test-sidecar.js'

// Every request here fails authentication on purpose: no limit may get in the way.
const config = testConfig({ limits: { apiAuthFailures: { points: 1_000_000 } } })
const sidecar = await startTestSidecar(new MemoryStore(), config)
t.teardown(() => sidecar.close())

/** `METHOD /path/:param` under /api/v1, from the routers the API face mounts. */
function mountedRoutes (): string[] {
  const app = createFaces({ config, topology: new Topology(config), store: new MemoryStore(), log: silentLogger }).api
  const routes = new Set<string>()
  // @koa/router keeps its layers on the dispatch middleware it hands to Koa.
  for (const mw of app.middleware as { router?: { stack: { methods: string[], path: string }[] } }[]) {
    for (const layer of mw.router?.stack ?? []) {
      if (!layer.path.startsWith('/api/v1/')) continue
      for (const method of layer.methods.filter(m => m !== 'HEAD')) routes.add(`${method} ${layer.path.slice('/api/v1'.length)}`)
    }
  }
  return [...routes].sort()
}

const SAMPLES: Record<string, string> = { pk: 'a1SpellTest', dn: 'dev-0001', id: 'job-0001' }
const concrete = (path: string): string => path.replace(/:(\w+)/g, (_, name: string) => SAMPLES[name] ?? 'x')

/** Spellings of `/api/v1<rest>` that a router or a proxy could take for the same route. */
function spellings (rest: string): string[] {
  const upperFirst = rest.replace(/\/(\w)/, (_, c: string) => `/${c.toUpperCase()}`)
  const encodedFirst = rest.replace(/\/(\w)/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`)
  return [
    `/api/v1${rest}`,
    `/API/V1${rest}`,
    `/Api/v1${rest}`,
    `/api/V1${rest}`,
    `/API/V1${rest.toUpperCase()}`,
    `/api/v1${upperFirst}`,
    `/api/v1${rest}/`,
    `/api/v1${rest}//`,
    `//api/v1${rest}`,
    `/api//v1${rest}`,
    `/api/v1/${rest}`,
    `/%61pi/v1${rest}`,
    `/%41PI/v1${rest}`,
    `/%2561pi/v1${rest}`,
    `/api%2Fv1${rest}`,
    `/api/v1${encodedFirst}`,
    `/x/../api/v1${rest}`,
    `/api/./v1${rest}`,
    '/api',
    '/API/'
  ]
}

function request (method: string, path: string, token: string | null): Promise<RawAnswer> {
  const auth = token === null ? '' : `Authorization: Bearer ${token}\r\n`
  const body = method === 'GET' || method === 'DELETE' ? '' : '{}'
  const type = body === '' ? '' : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`
  return rawRequest(sidecar.port, `${method} ${path} HTTP/1.1\r\nHost: sidecar\r\n${auth}${type}Connection: close\r\n\r\n${body}`)
}

const routes = mountedRoutes()

t.test('the app mounts the management routes this table reads', async t => {
  t.ok(routes.length >= 15, `${routes.length} routes: ${routes.join(', ')}`)
  t.ok(routes.includes('GET /instances'))
  t.ok(routes.includes('POST /distribution/jobs'))
})

for (const route of routes) {
  const [method = 'GET', path = '/'] = route.split(' ')
  t.test(`${route}: every spelling needs the token, and none answers 500`, async t => {
    for (const spelled of spellings(concrete(path))) {
      for (const token of [null, 'not-a-token-0123456789']) {
        const answer = await request(method, spelled, token)
        t.equal(answer.status, 401, `${method} ${spelled} ${token === null ? 'without a token' : 'with a wrong token'}`)
        t.equal(answer.json?.error?.code, 'unauthorized', `${method} ${spelled}: a JSON 401`)
      }
      const owner = await request(method, spelled, TOKENS.acme)
      t.not(owner.status, 500, `${method} ${spelled} with the token: ${owner.status} ${owner.body}`)
      // The one non-JSON answer of the API: the CSV template.
      if (owner.status !== 200) t.ok(owner.json !== null, `${method} ${spelled} with the token: a JSON answer`)
    }
  })
}

t.test('no request failed inside a handler', async t => {
  const failed = sidecar.lines.filter(l => l.includes('"request failed"'))
  t.same(failed, [], 'no "request failed" (a 500) in the log')
})
