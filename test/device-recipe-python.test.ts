// docs/devices.md, "Python": the Python recipe (device/recipes/paho_device.py, paho-mqtt) run with
// python3 against a real sidecar and two broker instances, through a live move: bootstrap, signed
// CONNECT, a property post answered, the notify answered, bootstrap again, connect at the new home
// and a property post answered there.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { parseConfig } from '../shared/config.js'
import { MemoryStore } from '../shared/store/memory.js'
import type { Certificate } from '../shared/types.js'
import { freePort } from './helpers/free-port.js'
import { FRANKFURT, SHANGHAI } from './helpers/regions.js'
import { apiClient, startTestSidecar } from './helpers/test-sidecar.js'
import { eventually, within } from './helpers/wait.js'

const SCRIPT = 'device/recipes/paho_device.py'
const TOKEN = 'recipe-token-0123456789abcdef'
const PK = 'a1recipe001'

/** Debian's python3 first (python3-paho-mqtt installs there), then whatever python3 is on PATH. */
const python = ['/usr/bin/python3', 'python3'].find(p => spawnSync(p, ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' }).status === 0)

if (python === undefined) {
  t.test('the Python recipe follows a live move', { skip: 'no python3 with paho-mqtt (apt-get install python3-paho-mqtt)' }, async () => {})
} else {
  const [aPort, bPort] = [await freePort(), await freePort()]
  const config = parseConfig({
    bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 50 },
    broker: { notifyTimeoutMs: 2000 },
    regions: [SHANGHAI, FRANKFURT],
    accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKEN }],
    instances: [
      { id: 'iot-a', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port: aPort }, listen: { host: '127.0.0.1', mqtt: aPort } },
      { id: 'iot-b', region: 'eu-central-1', account: 'acme', endpoint: { host: '127.0.0.1', port: bPort }, listen: { host: '127.0.0.1', mqtt: bPort } }
    ]
  })
  const store = new MemoryStore()
  const a = await startBrokerNode({ config, instanceId: 'iot-a', store, nodeId: 'recipe-a' })
  const b = await startBrokerNode({ config, instanceId: 'iot-b', store, nodeId: 'recipe-b' })
  const sidecar = await startTestSidecar(store, config, { jobs: true })
  t.teardown(async () => {
    await sidecar.close()
    await a.close()
    await b.close()
  })
  const api = apiClient(sidecar.url, TOKEN)
  await api('POST', '/products', { instanceId: 'iot-a', name: 'Recipe', productKey: PK })
  const made = await api('POST', `/products/${PK}/devices`, { instanceId: 'iot-a', deviceNames: ['py-lamp'] })
  if (made.status !== 201) throw new Error(`creating the device: ${made.status} ${made.text}`)
  const [cert] = made.json.certificates as Certificate[]

  t.test('the Python recipe follows a live move', async t => {
    const child = spawn(python, [SCRIPT, '--bootstrap', sidecar.url, '--product-key', PK, '--device-name', 'py-lamp',
      '--device-secret', cert!.deviceSecret, '--moves', '1', '--timeout', '15'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const exited = once(child, 'exit') as Promise<[number | null]>
    t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
    const events: Record<string, unknown>[] = []
    createInterface({ input: child.stdout }).on('line', line => { events.push(JSON.parse(line) as Record<string, unknown>) })
    const seen = (): string => `saw ${JSON.stringify(events)} ${stderr}`

    await eventually(() => events.some(e => e.event === 'property_reply'), () => `the first property post to be answered at iot-a (${seen()})`, { ms: 15_000 })
    t.equal((await api('GET', `/products/${PK}/devices/py-lamp`)).json.online, true, 'online at iot-a')

    const job = await api('POST', '/distribution/jobs', {
      method: 'this-account', policy: 'region', sourceInstanceId: 'iot-a', targetInstanceId: 'iot-b', productKey: PK, deviceNames: ['py-lamp']
    })
    t.equal(job.status, 202, 'the move is accepted')
    const [code] = await within(30_000, exited, () => `the recipe to follow the move and exit (${seen()})`)
    t.equal(code, 0, `exit 0 (${seen()})`)

    t.same(events.map(e => e.event), [
      'bootstrapped', 'connected', 'property_reply',
      'notify', 'notify_reply',
      'bootstrapped', 'connected', 'property_reply',
      'done'
    ], 'bootstrap, connect, reply; notify, reply; bootstrap again, connect, reply')
    const homes = events.filter(e => e.event === 'connected').map(e => e.port)
    t.same(homes, [aPort, bPort], 'connected at iot-a, then at iot-b')
    const replies = events.filter(e => e.event === 'property_reply')
    t.ok(replies.every(r => r.code === 200 && r.expected === true), 'each property post answered with 200 and its own id')

    const records = (await api('GET', `/distribution/jobs/${job.json.jobId as string}/records`)).text
    t.match(records, /notified; answered; disconnected/, 'the job records say the device answered the notify')
    const view = (await api('GET', `/products/${PK}/devices/py-lamp`)).json
    t.equal(view.instanceId, 'iot-b')
    t.same(view.properties, { 'iot-a': { Moves: 0 }, 'iot-b': { Moves: 1 } }, 'the last properties kept at each instance')
  })
}
