// `homing up`: every part in one process on the memory store, the way a newcomer first meets Homing.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import t from 'tap'
import { PortTakenError, up } from '../bin/up.js'
import { parseConfig, type Config } from '../shared/config.js'
import { silentLogger } from '../shared/log.js'
import { DeviceClient, credentials, type ConnectedEvent } from '../device/index.js'
import type { Certificate } from '../shared/types.js'
import { freePort } from './helpers/free-port.js'
import { FRANKFURT, SHANGHAI } from './helpers/regions.js'
import { eventually, within, WAIT_MS } from './helpers/wait.js'

const TOKEN = 'token-of-the-up-test-account'

async function demoConfig (): Promise<Config> {
  const [sh, de] = [await freePort(), await freePort()]
  return parseConfig({
    bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 50 },
    broker: { notifyTimeoutMs: 500 },
    regions: [SHANGHAI, FRANKFURT],
    accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKEN }],
    instances: [
      { id: 'iot-sh', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port: sh }, listen: { host: '127.0.0.1', mqtt: sh } },
      { id: 'iot-de', region: 'eu-central-1', account: 'acme', endpoint: { host: '127.0.0.1', port: de }, listen: { host: '127.0.0.1', mqtt: de } }
    ]
  })
}

t.test('homing up: create, bootstrap, connect, refuse elsewhere, distribute a live device, all on the memory store', async t => {
  const config = await demoConfig()
  const everything = await up(config, silentLogger)
  t.teardown(() => everything.close())
  t.equal(everything.store.kind, 'memory')
  const base = `http://127.0.0.1:${everything.sidecar.port}`
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> => { // any: the test reads the API's JSON as a user would
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    return { status: res.status, json: await res.json() }
  }

  const product = await api('POST', '/products', { instanceId: 'iot-sh', name: 'Lamp' })
  t.equal(product.status, 201)
  const pk: string = product.json.productKey
  const created = await api('POST', `/products/${pk}/devices`, { instanceId: 'iot-sh', deviceNames: ['lamp-0001'] })
  t.equal(created.status, 201)
  const certificate: Certificate = created.json.certificates[0]
  t.equal(certificate.deviceName, 'lamp-0001')

  // A device of iot-sh is refused at iot-de (CONNACK 5: known, assigned elsewhere).
  const creds = credentials(certificate)
  const refused = mqtt.connect({ host: '127.0.0.1', port: config.instances[1]!.listen.mqtt, ...creds, reconnectPeriod: 0, protocolVersion: 4 })
  const code = await within(WAIT_MS, new Promise<number | undefined>(resolve => refused.once('error', (err: Error & { code?: number }) => resolve(err.code))), 'a CONNACK refusal at the other instance')
  refused.end(true)
  t.equal(code, 5, 'a device of another instance is refused with CONNACK 5')

  const device = new DeviceClient({ certificate, bootstrapUrl: base, keepalive: 60, backoff: { baseMs: 20, capMs: 200 } })
  t.teardown(() => device.stop())
  const connected: ConnectedEvent[] = []
  device.on('connected', e => connected.push(e))
  await device.start()
  t.equal(connected[0]?.endpoint.port, config.instances[0]!.endpoint.port, 'bootstrap sends it to its own instance, CONNACK 0')

  const rehomed = new Promise(resolve => device.once('rehomed', resolve))
  const job = await api('POST', '/distribution/jobs', {
    method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh', targetInstanceId: 'iot-de', productKey: pk, deviceNames: ['lamp-0001']
  })
  t.equal(job.status, 202)
  await within(10_000, rehomed, 'the device to re-home after its job')
  t.equal(connected.at(-1)?.endpoint.port, config.instances[1]!.endpoint.port, 'notified, it bootstraps again and connects at its new home')
  t.equal(connected.at(-1)?.reason, 'notify')

  const jobId: string = job.json.jobId
  await eventually(async () => (await api('GET', `/distribution/jobs/${jobId}`)).json.status === 'distributed', 'the job to end distributed')
  // The old broker writes the fuller record once the kick is over, batched with others for a few
  // milliseconds: the device may already be at its new home by then.
  const recordsCsv = async (): Promise<string> => (await fetch(`${base}/api/v1/distribution/jobs/${jobId}/records`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()
  let csv = ''
  await eventually(async () => /answered/.test(csv = await recordsCsv()), () => `the old broker's record: ${csv}`)
  t.match(csv, /lamp-0001,success,.*online.*notified.*answered.*disconnected/, `records say what happened: ${csv}`)
})

t.test('a port that is taken is named with the key that moves it', async t => {
  const config = await demoConfig()
  const squatter = net.createServer()
  await new Promise<void>(resolve => squatter.listen(config.instances[1]!.listen.mqtt, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => squatter.close(() => resolve())))
  await t.rejects(up(config, silentLogger), new PortTakenError(config.instances[1]!.listen.mqtt!, 'instances[1].listen.mqtt'))
})

t.test('a bad config file stops `homing up` with the field named, exit 2, no stack trace', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'homing-up-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'bad.json')
  const raw = JSON.parse(JSON.stringify((await demoConfig())))
  raw.instances[0].region = 'mars-north-1'
  writeFileSync(file, JSON.stringify(raw))
  const child = spawn(process.execPath, ['bin/homing.js', 'up', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exit = await within(20_000, new Promise<number | null>(resolve => child.on('exit', resolve)), () => `homing up with a bad config to exit:\n${stderr}`)
  t.equal(exit, 2)
  t.match(stderr, 'instances[0].region: unknown region "mars-north-1"')
  t.notMatch(stderr, /\n\s+at /, 'no stack trace')
})
