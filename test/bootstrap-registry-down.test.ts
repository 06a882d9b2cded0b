// docs/operations.md, "Redis outage": registry down -> bootstrap answers 503 (and the API too), and both recover
// without a restart when the registry is back.
import net from 'node:net'
import t from 'tap'
import { newDevice } from '../shared/device.js'
import { openRedisStore, RedisStore } from '../shared/store/redis.js'
import { product } from './helpers/fixtures.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const keyPrefix = uniquePrefix('registry-down')
t.teardown(() => dropPrefix(keyPrefix))

const FORM = sdkForm({ productKey: 'a1downProd1', deviceName: 'dev1', clientId: 'a1downProd1.dev1' })

t.test('a registry that cannot be reached: 503 in the docs/protocol.md, "Bootstrap" form, 503 JSON on the API', async t => {
  const store = new RedisStore({ url: 'redis://127.0.0.1:1/0', keyPrefix })
  const sidecar = await startTestSidecar(store)
  t.teardown(async () => {
    await sidecar.close()
    await store.close()
  })
  const res = readStrict((await exchange(sidecar.port, sdkRequest(FORM))).raw)
  t.same(res.violations, [])
  t.equal(res.status, 503)
  t.equal(res.body, '{"code":503,"message":"registry unavailable, retry later"}')
  t.equal(res.headers.get('retry-after'), '1')

  const api = await apiClient(sidecar.url, TOKENS.acme)('GET', '/products?instanceId=iot-sh-1')
  t.equal(api.status, 503)
  t.same(api.json, { error: { code: 'unavailable', message: 'registry unavailable, retry later' } })

  const logged = sidecar.lines.join('\n')
  t.match(logged, /"requestId":"[0-9a-f]{12}"/, 'the failure is logged with the request id')
  t.match(logged, /registry unavailable/)
  t.notMatch(logged, TOKENS.acme, 'the bearer token is never logged')
})

/** A TCP relay to the real Redis that can be cut and restored on the same port. */
async function relay (): Promise<{ port: number, cut: () => Promise<void>, restore: () => Promise<void> }> {
  const target = new URL(REDIS_URL)
  const sockets = new Set<net.Socket>()
  let server: net.Server | null = null
  let port = 0
  const listen = async (): Promise<void> => {
    server = net.createServer(client => {
      const upstream = net.connect(Number(target.port || 6379), target.hostname)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => {})
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>(resolve => (server as net.Server).listen(port, '127.0.0.1', resolve))
    port = (server.address() as net.AddressInfo).port
  }
  await listen()
  return {
    port,
    cut: async () => {
      const closed = new Promise<void>(resolve => (server as net.Server).close(() => resolve()))
      for (const s of sockets) s.destroy()
      await closed
    },
    restore: listen
  }
}

t.test('bootstrap answers 503 while the registry is away and 200 again once it is back', async t => {
  const link = await relay()
  const store = await openRedisStore({ url: `redis://127.0.0.1:${link.port}/0`, keyPrefix })
  const sidecar = await startTestSidecar(store)
  t.teardown(async () => {
    await sidecar.close()
    await store.close()
    await link.cut().catch(() => {})
  })
  await store.createProduct(product('a1downProd1', 'iot-sh-1'))
  await store.createDevices([newDevice('a1downProd1', 'dev1', 'iot-sh-1')])
  const status = async (): Promise<number> => readStrict((await exchange(sidecar.port, sdkRequest(FORM))).raw).status

  t.equal(await status(), 200)
  await link.cut()
  t.equal(await status(), 503)
  await link.restore()
  let recovered = false
  for (let i = 0; i < 100 && !recovered; i++) {
    recovered = await status() === 200
    if (!recovered) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.ok(recovered, 'answers 200 again without a restart')
})
