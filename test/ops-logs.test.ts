// docs/operations.md, "Redis outage": secrets never reach the logs. `homing up` runs as an operator starts it, at
// LOG_LEVEL=debug, through a session that handles every kind of secret: account tokens (right and
// wrong), device secrets in the creation answer, signed CONNECT passwords (right and wrong) over TCP
// and WebSocket, a verification code and the cross-account job that uses it. Every line it wrote is
// JSON, requests carry their request id and connections their connection id, and none of the
// secret strings appears anywhere in its output.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import mqtt from 'mqtt'
import t from 'tap'
import { credentials } from '../device/credentials.js'
import { connackCode } from './helpers/broker.js'
import { exchange, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { apiClient } from './helpers/test-sidecar.js'
import { eventually, within } from './helpers/wait.js'

const ACME = 'acme-log-token-7f3c9a1e5b'
const GLOBEX = 'globex-log-token-2d8e4b6a0c'
const WRONG = 'wrong-log-token-9a9a9a9a9a'

const dir = mkdtempSync(join(tmpdir(), 'homing-logs-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = join(dir, 'config.json')
writeFileSync(file, JSON.stringify({
  bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 50 },
  broker: { notifyTimeoutMs: 300 },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: ACME }, { id: 'globex', name: 'Globex', token: GLOBEX }],
  instances: [
    { id: 'a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0, ws: 0 } },
    { id: 'g', region: 'r1', account: 'globex', endpoint: { host: '127.0.0.1', port: 1884 } }
  ]
}))

t.test('a session with every kind of secret leaves none of them in the log', async t => {
  const child = spawn(process.execPath, ['bin/homing.js', 'up', '--config', file, '--quiet'], {
    env: { ...process.env, LOG_LEVEL: 'debug', REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const lines: string[] = []
  const listening = new Promise<Record<string, any>>((resolve, reject) => { // any: the log line is read by path
    createInterface({ input: child.stdout }).on('line', line => {
      lines.push(line)
      output += line + '\n'
      const entry = JSON.parse(line) as Record<string, any> // any: as above
      if (entry.msg === 'listening' && entry.brokers !== undefined) resolve(entry)
    })
    child.once('exit', code => reject(new Error(`exited ${String(code)}: ${output}`)))
  })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const up = await within(20_000, listening, () => `homing up to log "listening":\n${output}`)
  const base = `http://127.0.0.1:${up.port as number}`
  const ports = (up.brokers as { id: string, ports: { mqtt: number, ws: number } }[])[0]!.ports
  const acme = apiClient(base, ACME)
  const globex = apiClient(base, GLOBEX)

  // Tokens: right and wrong.
  t.equal((await apiClient(base, WRONG)('GET', '/instances')).status, 401)
  t.equal((await acme('POST', '/products', { instanceId: 'a', name: 'Lamp', productKey: 'a1logsProd1' })).status, 201)
  // Device secrets, in the creation answer.
  const created = await acme('POST', '/products/a1logsProd1/devices', { instanceId: 'a', deviceNames: ['lamp-0001', 'lamp-0002'] })
  t.equal(created.status, 201)
  const [lamp, moving] = created.json.certificates
  // Signed CONNECTs over TCP and WebSocket, and a wrong password.
  const signed = credentials(lamp)
  const wrong = credentials({ ...lamp, deviceSecret: 'not-the-device-secret' })
  t.equal(await connackCode(ports.mqtt, signed), 0)
  t.equal(await connackCode(ports.mqtt, wrong), 4)
  const overWs = credentials(lamp, { form: 'node-sdk' })
  const ws = await mqtt.connectAsync(`ws://127.0.0.1:${ports.ws}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, ...overWs })
  await ws.endAsync()
  // A bootstrap request.
  await exchange(up.port as number, sdkRequest(sdkForm({ productKey: 'a1logsProd1', deviceName: 'lamp-0001' })))
  // A verification code, and the cross-account job that uses it.
  t.equal((await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' })).status, 202)
  const code: string = (await globex('GET', '/distribution/verification-codes')).json.codes[0].code
  const job = await acme('POST', '/distribution/jobs', {
    method: 'cross-account',
    policy: 'region',
    sourceInstanceId: 'a',
    productKey: 'a1logsProd1',
    deviceNames: [moving.deviceName],
    targetAccount: 'globex',
    targetInstanceId: 'g',
    verificationCode: code
  })
  t.equal(job.status, 202)
  await eventually(async () => (await acme('GET', `/distribution/jobs/${job.json.jobId}`)).json.status === 'distributed', 'the job to end distributed')

  child.kill('SIGTERM')
  t.equal(await within(10_000, exited, () => `homing up to exit on SIGTERM:\n${output}`), 0, 'stops cleanly on SIGTERM')

  const entries = lines.map(line => JSON.parse(line) as Record<string, unknown>)
  t.ok(entries.every(e => typeof e.level === 'number' && typeof e.time === 'number' && typeof e.msg === 'string'), 'every stdout line is a structured JSON entry')
  t.ok(entries.some(e => e.msg === 'api request' && typeof e.requestId === 'string' && e.account === 'acme'), 'API requests are logged with their request id and the account, not its token')
  t.ok(entries.some(e => e.msg === 'bootstrap' && typeof e.requestId === 'string'), 'bootstrap requests are logged (debug) with their request id')
  t.ok(entries.some(e => e.msg === 'connection opened' && typeof e.conn === 'string' && e.transport === 'ws'), 'connections are logged (debug) with a connection id')
  t.ok(entries.some(e => e.msg === 'connection refused' && e.returnCode === 4), 'the refused CONNECT is logged')

  const secrets: [string, RegExp][] = [
    ['acme token', new RegExp(ACME)],
    ['globex token', new RegExp(GLOBEX)],
    ['wrong token', new RegExp(WRONG)],
    ['device secret', new RegExp(lamp.deviceSecret)],
    ['device secret of the moved device', new RegExp(moving.deviceSecret)],
    ['signed password', new RegExp(signed.password, 'i')],
    ['wrong password', new RegExp(wrong.password, 'i')],
    ['WebSocket password', new RegExp(overWs.password, 'i')],
    ['verification code', new RegExp(`(?<!\\d)${code}(?!\\d)`)]
  ]
  t.ok(output.length > 1000, 'there was plenty to log')
  for (const [what, pattern] of secrets) t.notMatch(output, pattern, `no ${what} in the output`)
})
