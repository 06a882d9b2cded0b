// A broker node that is stopped while its device is disabled acts on the disable when it runs
// again: the order waits in the instance's durable log. The node runs as `homing broker` in a child
// process, frozen with SIGSTOP (its sockets stay open, as a stalled process's do); a second node
// of the same instance, in this process, does not hold the device and leaves it alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { parseConfig } from '../shared/config.js'
import type { Certificate } from '../shared/types.js'
import { closed, connackCode, connectDevice, credentials } from './helpers/broker.js'
import { startHoming } from './helpers/homing-process.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'
import { apiClient, startTestSidecar } from './helpers/test-sidecar.js'

const { keyPrefix, store } = await openTestRegistry(t, 'disable-catchup')
const dir = mkdtempSync(join(tmpdir(), 'homing-catchup-'))
const TOKEN = 'catchup-token-0123456789'
const raw = {
  redis: REDIS_URL,
  keyPrefix,
  bootstrap: { host: '127.0.0.1', port: 0 },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: TOKEN }],
  instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1884 }, listen: { host: '127.0.0.1', mqtt: 0 } }]
}
const configFile = join(dir, 'homing.json')
writeFileSync(configFile, JSON.stringify(raw))
const config = parseConfig(raw)

const sidecar = await startTestSidecar(store, config)
const other = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'catchup-other' })
const frozen = startHoming(['broker', '--config', configFile, '--instance', 'a', '--node', 'catchup-frozen'])
t.teardown(async () => {
  frozen.child.kill('SIGCONT')
  frozen.kill()
  await frozen.exited
  await other.close()
  await sidecar.close()
  rmSync(dir, { recursive: true, force: true })
})

const { ports } = await Promise.race([
  frozen.logged('listening'),
  new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`homing broker did not log "listening" within 20 s:\n${frozen.output()}`)), 20_000).unref())
])
const port = (ports as { mqtt: number }).mqtt

const acme = apiClient(sidecar.url, TOKEN)
const PK = 'a1catchup01'
await acme('POST', '/products', { instanceId: 'a', name: 'Lamp', productKey: PK })
const [cert] = (await acme('POST', `/products/${PK}/devices`, { instanceId: 'a', deviceNames: ['frozen-01'] })).json.certificates as Certificate[]
if (cert === undefined) throw new Error('device not created')

t.test('a node stopped while its device is disabled disconnects it once it runs again', async t => {
  const device = await connectDevice(port, cert)
  t.teardown(() => device.endAsync(true))
  const gone = closed(device)
  let closedEarly = false
  void gone.then(() => { closedEarly = true })

  frozen.child.kill('SIGSTOP')
  // Longer than the node's blocking read of the log (1 s): the order is not handed to a read in
  // flight, it waits in the log for the node's consumer to come back for it.
  await new Promise(resolve => setTimeout(resolve, 1200))
  t.equal((await acme('POST', `/products/${PK}/devices/frozen-01/disable`)).status, 200)
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(closedEarly, false, 'still connected while its node is stopped: no other node cut it')
  t.equal(await connackCode(other.ports.mqtt, credentials(cert)), 5, 'the running node refuses it meanwhile')

  frozen.child.kill('SIGCONT')
  await Promise.race([
    gone,
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the resumed node did not disconnect the disabled device within 5 s')), 5000).unref())
  ])
  t.pass('disconnected after the node resumed')
  const logged = await frozen.logged('device disabled: disconnected')
  t.match(logged, { productKey: PK, deviceName: 'frozen-01', reason: 'disabled', disconnected: true })
  t.ok(logged.lagMs >= 1000, `it acted on the order it missed (${String(logged.lagMs)} ms after it was given)`)
})
