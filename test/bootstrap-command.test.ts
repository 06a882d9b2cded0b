// `homing bootstrap --config FILE [--port N]`: the sidecar alone, as an operator starts it.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { within } from './helpers/wait.js'

const keyPrefix = uniquePrefix('bootstrap-command')
const dir = mkdtempSync(join(tmpdir(), 'homing-bootstrap-'))
t.teardown(async () => {
  rmSync(dir, { recursive: true, force: true })
  await dropPrefix(keyPrefix)
})

const TOKEN = 'cli-token-0123456789abcdef'

function writeConfig (name: string, extra: Record<string, unknown>): string {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify({
    keyPrefix,
    bootstrap: { host: '127.0.0.1', port: 1 },
    regions: [{ id: 'r1', name: 'Region 1', lat: 0, lon: 0 }],
    accounts: [{ id: 'acme', name: 'Acme', token: TOKEN }],
    instances: [{ id: 'i1', region: 'r1', account: 'acme', endpoint: { host: 'mqtt.example.com', port: 1883 } }],
    ...extra
  }))
  return file
}

interface Run {
  child: ChildProcess
  lines: AsyncIterableIterator<string>
  exit: Promise<number | null>
  stderr: () => string
}

function homing (args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exit = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  return { child, lines, exit, stderr: () => stderr }
}

async function logLine (run: Run, msg: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const { value, done } = await within(Math.max(1, deadline - Date.now()), run.lines.next(), () => `homing bootstrap to log "${msg}":\n${run.stderr()}`)
    if (done === true) throw new Error(`exited before logging "${msg}": ${run.stderr()}`)
    const line = JSON.parse(value) as Record<string, unknown>
    if (line.msg === msg) return line
  }
}

// Each start costs seconds (tsx and every part's imports): start them all at once, check them in turn.
const runs = {
  redis: homing(['bootstrap', '--config', writeConfig('redis.json', { redis: REDIS_URL }), '--port', '0']),
  env: homing(['bootstrap'], { HOMING_CONFIG: writeConfig('env.json', { redis: REDIS_URL }), BOOTSTRAP_PORT: '0' }),
  memory: homing(['bootstrap', '--config', writeConfig('memory.json', {})], { REDIS_URL: '' }),
  bad: homing(['bootstrap', '--config', writeConfig('bad.json', { redis: REDIS_URL, regions: [] })]),
  down: homing(['bootstrap', '--config', writeConfig('down.json', { redis: 'redis://127.0.0.1:1/0' }), '--port', '0'])
}
t.teardown(() => { for (const run of Object.values(runs)) run.child.kill('SIGKILL') })

t.test('starts on the given port, logs "listening" with it, answers devices, stops on SIGTERM', async t => {
  const run = runs.redis
  const listening = await logLine(run, 'listening')
  t.equal(listening.name, 'bootstrap')
  t.type(listening.port, 'number')
  const port = listening.port as number
  t.not(port, 0)

  const api = (method: string, path: string, body: unknown) => fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body)
  })
  t.equal((await api('POST', '/products', { instanceId: 'i1', name: 'Lamp', productKey: 'a1cliProd01' })).status, 201)
  t.equal((await api('POST', '/products/a1cliProd01/devices', { instanceId: 'i1', deviceNames: ['cli-dev'] })).status, 201)
  const answer = readStrict((await exchange(port, sdkRequest(sdkForm({ productKey: 'a1cliProd01', deviceName: 'cli-dev' })))).raw)
  t.equal(answer.body, '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.example.com","port":1883}}},"message":"success"}')

  run.child.kill('SIGTERM')
  t.equal(await within(20_000, run.exit, () => `homing bootstrap to exit:\n${run.stderr()}`), 0)
})

t.test('HOMING_CONFIG and BOOTSTRAP_PORT stand in for the options', async t => {
  const run = runs.env
  const listening = await logLine(run, 'listening')
  t.not(listening.port, 0)
  run.child.kill('SIGINT')
  t.equal(await within(20_000, run.exit, () => `homing bootstrap to exit:\n${run.stderr()}`), 0)
})

t.test('the memory store is refused: a sidecar alone would share nothing with the brokers', async t => {
  const run = runs.memory
  t.equal(await within(20_000, run.exit, () => `homing bootstrap to exit:\n${run.stderr()}`), 2)
  t.match(run.stderr(), /redis: "homing bootstrap" needs the shared registry/)
})

t.test('a bad config is a clean message naming the field, exit 2', async t => {
  const run = runs.bad
  t.equal(await within(20_000, run.exit, () => `homing bootstrap to exit:\n${run.stderr()}`), 2)
  t.match(run.stderr(), /invalid config:\nregions: /)
  t.notMatch(run.stderr(), /at .*\.ts:\d+/, 'no stack trace')
})

t.test('a registry that is down at start is waited for, and SIGTERM still stops it', async t => {
  const run = runs.down
  const warning = await logLine(run, 'registry unavailable')
  t.equal(warning.attempt, 1)
  run.child.kill('SIGTERM')
  t.equal(await within(20_000, run.exit, () => `homing bootstrap to exit:\n${run.stderr()}`), 0)
})
