// The docker/compose.yml topology as plain processes (this machine has no Docker engine): one
// `homing bootstrap`, two `homing broker` nodes of iot-a sharing Redis behind a TCP load balancer
// (a small proxy here, HAProxy there), one node of iot-b. Every process reads docker/compose.json
// plus the environment compose gives it; only the endpoints are rewritten to this machine's ports,
// as the compose file's port mappings would. A device bootstraps, connects through the balancer,
// and when its node is stopped it reconnects through the balancer to the other node.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DeviceClient } from '../device/index.js'
import type { Certificate } from '../shared/types.js'
import { startHoming, type HomingProcess } from './helpers/homing-process.js'
import { REDIS_URL } from './helpers/redis.js'
import { apiClient } from './helpers/test-sidecar.js'
import { freePort } from './helpers/free-port.js'
import { openTestRegistry } from './helpers/registry.js'

const { keyPrefix, store } = await openTestRegistry(t, 'topology')
const TOKEN = 'topology-token-0123456789abcdef'
const dir = mkdtempSync(join(tmpdir(), 'homing-topology-'))
t.teardown(async () => {
  rmSync(dir, { recursive: true, force: true })
})

/** HAProxy's part: each new connection to the next node in turn, the other one when a node refuses. */
async function balancer (backends: () => number[]): Promise<{ port: number, close: () => Promise<void> }> {
  let next = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer(client => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    const ports = backends()
    const attempt = (tries: number): void => {
      const port = ports[next++ % ports.length] as number
      const upstream = net.connect(port, '127.0.0.1')
      upstream.once('connect', () => {
        sockets.add(upstream)
        upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
        client.on('close', () => upstream.destroy())
        client.pipe(upstream).pipe(client)
      })
      upstream.once('error', () => { if (tries > 1) attempt(tries - 1); else client.destroy() })
    }
    attempt(ports.length)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

// The mounted config file, with the endpoints compose publishes (localhost:1883, localhost:2883)
// moved to where this test publishes them.
const nodePorts = { a1: 0, a2: 0 }
const lb = await balancer(() => [nodePorts.a1, nodePorts.a2])
t.teardown(() => lb.close())
const bPort = await freePort()
const compose = JSON.parse(readFileSync(new URL('../docker/compose.json', import.meta.url), 'utf8')) as { instances: { id: string, endpoint: { host: string, port: number } }[] }
for (const instance of compose.instances) instance.endpoint = { host: '127.0.0.1', port: instance.id === 'iot-a' ? lb.port : bPort }
const file = join(dir, 'config.json')
writeFileSync(file, JSON.stringify(compose))

// The environment of docker/compose.yml's services (x-homing plus each service's own).
const env = { HOMING_CONFIG: file, REDIS_URL, KEY_PREFIX: keyPrefix, HOMING_TOKEN_ACME: TOKEN }
const procs: Record<string, HomingProcess> = {
  bootstrap: startHoming(['bootstrap'], { ...env, BOOTSTRAP_PORT: '0' }),
  a1: startHoming(['broker', '--instance', 'iot-a'], { ...env, NODE_ID: 'iot-a-1', MQTT_PORT: '0', WS_PORT: '0', HTTP_PORT: '0' }),
  a2: startHoming(['broker', '--instance', 'iot-a'], { ...env, NODE_ID: 'iot-a-2', MQTT_PORT: '0', WS_PORT: '0', HTTP_PORT: '0' }),
  b1: startHoming(['broker', '--instance', 'iot-b'], { ...env, NODE_ID: 'iot-b-1', MQTT_PORT: String(bPort), HTTP_PORT: '0' })
}
t.teardown(() => { for (const p of Object.values(procs)) p.kill() })

t.test('the compose topology as processes: one sidecar, iot-a on two nodes behind a balancer, iot-b on one', async t => {
  const [sidecar, a1, a2, b1] = await Promise.all([procs.bootstrap, procs.a1, procs.a2, procs.b1].map(p => (p as HomingProcess).logged('listening')))
  nodePorts.a1 = a1!.ports.mqtt
  nodePorts.a2 = a2!.ports.mqtt
  t.equal(b1!.ports.mqtt, bPort)
  for (const { port } of [sidecar!, ...[a1, a2, b1].map(n => ({ port: n!.ports.http as number }))]) {
    t.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, `ready on ${port}`)
  }

  const base = `http://127.0.0.1:${sidecar!.port as number}`
  const api = apiClient(base, TOKEN)
  t.equal((await api('POST', '/products', { instanceId: 'iot-a', name: 'Lamp', productKey: 'a1topoLamp' })).status, 201)
  t.equal((await api('POST', '/products', { instanceId: 'iot-b', name: 'Meter', productKey: 'a1topoMeter' })).status, 201)
  const lamps = (await api('POST', '/products/a1topoLamp/devices', { instanceId: 'iot-a', deviceNames: ['lamp-0001', 'lamp-0002'] })).json.certificates
  const [meter] = (await api('POST', '/products/a1topoMeter/devices', { instanceId: 'iot-b', deviceNames: ['meter-0001'] })).json.certificates

  const start = async (certificate: Certificate): Promise<DeviceClient> => {
    const device = new DeviceClient({ certificate, bootstrapUrl: base, keepalive: 60, backoff: { baseMs: 50, capMs: 300 } })
    t.teardown(() => device.stop())
    await device.start()
    return device
  }
  const nodeOf = async (pk: string, dn: string): Promise<string | undefined> => (await store.getDevice(pk, dn))?.online?.nodeId
  await start(lamps[0])
  await start(lamps[1])
  await start(meter)
  const holders = [await nodeOf('a1topoLamp', 'lamp-0001'), await nodeOf('a1topoLamp', 'lamp-0002')]
  t.same([...holders].sort(), ['iot-a-1', 'iot-a-2'], 'through the balancer, one device on each node of iot-a')
  t.equal(await nodeOf('a1topoMeter', 'meter-0001'), 'iot-b-1', 'the meter bootstrapped to iot-b and connected there')

  // Stop the node holding lamp-0001: it closes the connection, the device comes back through the balancer.
  const stopped = holders[0] === 'iot-a-1' ? procs.a1 as HomingProcess : procs.a2 as HomingProcess
  const survivor = holders[0] === 'iot-a-1' ? 'iot-a-2' : 'iot-a-1'
  stopped.child.kill('SIGTERM')
  t.equal(await stopped.exit(), 0, 'the stopped node exits 0')
  let holder: string | undefined
  for (let i = 0; i < 100 && holder !== survivor; i++) {
    holder = await nodeOf('a1topoLamp', 'lamp-0001')
    if (holder !== survivor) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.equal(holder, survivor, 'lamp-0001 reconnected to the other node of iot-a, through the balancer')
  t.equal(await nodeOf('a1topoMeter', 'meter-0001'), 'iot-b-1', 'iot-b is untouched')
})
