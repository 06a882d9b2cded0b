// Fuzz: every JSON body of the management API (docs/hardening.md). Valid bodies with fields replaced
// by wrong types, huge strings, unicode and prototype names, fields removed and added, the text
// truncated or spliced, and deep nesting. A real `homing bootstrap` on Redis: it stays up, answers
// JSON and never 5xx, and a refusal changes nothing in the registry.
import fc from 'fast-check'
import t from 'tap'
import { FEWER_RUNS, FUZZ_PK, deepJsonText, httpCase, nastyJson, nastyString, property, seed, send, startFuzzDeployment } from './helpers/fuzz.js'
import { TOKENS } from './helpers/test-sidecar.js'

const d = await startFuzzDeployment('fuzz-api')
t.teardown(() => d.close())
await seed(d)

interface Route {
  method: string
  path: string
  body: Record<string, unknown>
}

/** Each JSON body the API takes, valid as given. */
const ROUTES: Route[] = [
  { method: 'POST', path: '/products', body: { instanceId: 'iot-sh-1', name: 'Fuzzed', topicCategories: [{ topic: '/a/b', operation: 'pub' }], tsl: { properties: [] }, parsingScript: null } },
  { method: 'PATCH', path: `/products/${FUZZ_PK}?instanceId=iot-sh-1`, body: { name: 'Renamed', topicCategories: [], tsl: null, parsingScript: 'x' } },
  { method: 'POST', path: `/products/${FUZZ_PK}/devices`, body: { instanceId: 'iot-sh-1', deviceNames: ['new-0001', 'new-0002'] } },
  { method: 'PUT', path: `/products/${FUZZ_PK}/devices/dev-0001/tags`, body: { colour: 'red', site: 'Shanghai' } },
  { method: 'POST', path: '/distribution/jobs', body: { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', productKey: FUZZ_PK, deviceNames: ['dev-0003'], targetInstanceId: 'iot-de-1' } },
  { method: 'POST', path: '/distribution/jobs', body: { method: 'this-account', policy: 'nearest', sourceInstanceId: 'iot-sh-1', productKey: FUZZ_PK, deviceNames: ['dev-0004'], targets: [{ region: 'eu-central-1', instanceId: 'iot-de-1' }] } },
  { method: 'POST', path: '/distribution/jobs', body: { method: 'cross-account', policy: 'region', sourceInstanceId: 'iot-sh-1', productKey: FUZZ_PK, deviceNames: ['dev-0004'], targetInstanceId: 'iot-gx-1', targetAccount: 'globex', verificationCode: '123456' } },
  { method: 'POST', path: '/distribution/verification-codes', body: { targetAccount: 'globex' } }
]

const api = (route: Route, body: string, token: string = TOKENS.acme) => () => send(`${d.url}/api/v1${route.path}`, {
  method: route.method,
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body
})

/** An own property even for `__proto__` (an assignment would set the prototype instead). */
function put (target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true })
}

type Mutation = { kind: 'replace' | 'delete', field: number, value: unknown } | { kind: 'add', key: string, value: unknown }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), field: fc.nat(), value: nastyJson }),
  fc.record({ kind: fc.constant('delete' as const), field: fc.nat(), value: fc.constant(null) }),
  fc.record({ kind: fc.constant('add' as const), key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'instanceId', 'name'), nastyString), value: nastyJson })
)

function mutate (body: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(body)) put(out, k, v)
  for (const m of mutations) {
    const keys = Object.keys(out)
    if (m.kind === 'add') put(out, m.key, m.value)
    else if (keys.length > 0) {
      const key = keys[m.field % keys.length]!
      if (m.kind === 'delete') delete out[key]
      else put(out, key, m.value)
    }
  }
  return out
}

const route = fc.constantFrom(...ROUTES)

t.test('the bodies the mutations start from are accepted', async t => {
  for (const r of ROUTES.filter(r => !r.path.startsWith('/distribution/jobs'))) {
    const answer = await httpCase(d, api(r, JSON.stringify(r.body)))
    t.ok(answer !== null && answer.status < 300, `${r.method} ${r.path}: ${answer?.status} ${answer?.text.slice(0, 200)}`)
  }
})

t.test('mutated fields: up, JSON, no 5xx, a refusal changes nothing', async t => {
  await property(t, 'mutated fields', fc.tuple(route, fc.array(mutation, { minLength: 1, maxLength: 4 })), async ([r, mutations]) => {
    await httpCase(d, api(r, JSON.stringify(mutate(r.body, mutations))))
  })
})

t.test('mutated text (truncated, spliced, wrong top-level values): up, JSON, no 5xx, nothing changed', async t => {
  const text = fc.tuple(route, fc.nat(), fc.oneof(fc.string(), fc.constantFrom('{', '}', '[', '"', '\\', ',', ':', '\u0000', '\uD800', 'null', '1e999', '-'))).map(([r, at, splice]) => {
    const json = JSON.stringify(r.body)
    const cut = at % (json.length + 1)
    return [r, json.slice(0, cut) + splice + json.slice(cut + (at % 3))] as const
  })
  const wholeBody = fc.tuple(route, fc.oneof(nastyJson.map(v => JSON.stringify(v) ?? 'null'), fc.constantFrom('', ' ', '\uFEFF{}', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}')))
  await property(t, 'mutated text', fc.oneof(text, wholeBody), async ([r, body]) => {
    await httpCase(d, api(r, body))
  })
})

t.test('the other account and no account: up, JSON, no 5xx, nothing changed', async t => {
  await property(t, 'other callers', fc.tuple(route, fc.constantFrom(TOKENS.globex, 'wrong-token-0123456789', ''), fc.array(mutation, { maxLength: 2 })), async ([r, token, mutations]) => {
    await httpCase(d, api(r, JSON.stringify(mutate(r.body, mutations)), token))
  }, { runs: FEWER_RUNS })
})

t.test('deep nesting in a field and as the whole body: up, JSON, no 5xx, nothing changed', async t => {
  const depth = fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constantFrom(1000, 5000, 20_000, 100_000))
  // The example: a TSL model 5,000 objects deep.
  await property(t, 'deep nesting', fc.tuple(route, depth, fc.boolean(), fc.option(fc.nat())), async ([r, n, arrays, field]) => {
    const nested = arrays ? deepJsonText(n) : '{"a":'.repeat(n) + '{}' + '}'.repeat(n)
    const keys = Object.keys(r.body)
    // In place of one field (tsl takes any object), or the whole body.
    const body = field === null ? nested : JSON.stringify({ ...r.body, [keys[field % keys.length]!]: '\u0000' }).replace('"\\u0000"', nested)
    await httpCase(d, api(r, body))
  }, { runs: FEWER_RUNS, examples: [[ROUTES[0]!, 5000, false, 3]] })
})
