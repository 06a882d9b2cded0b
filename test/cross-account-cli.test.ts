// The operator commands for cross-account and nearest distribution, run as an operator runs them (the
// bin, in child processes) against a live sidecar: `homing code send|list`, `homing distribute
// --to-account ... --code ...` and `homing distribute --nearest REGION=INSTANCE,...`.
import { execFile } from 'node:child_process'
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store, undefined, { jobs: true })
t.teardown(async () => {
  await sidecar.close()
})
const acme = apiClient(sidecar.url, TOKENS.acme)
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: 'a1lampXcli1' })
await acme('POST', '/products/a1lampXcli1/devices', { instanceId: 'iot-sh-1', deviceNames: ['xcli-0001', 'xcli-0002'] })

interface Result { code: number, stdout: string, stderr: string }

function homing (args: string[], token: string): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, HOMING_URL: sidecar.url, HOMING_TOKEN: token } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}

// Each start of the bin costs seconds: two rounds of commands side by side. Acme's code for globex is
// asked for through the API first, so that globex lists it in the first round while it sends its own.
await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' })
const [sent, listed, nearest, neither, badPair] = await Promise.all([
  homing(['code', 'send', '--account', 'Acme Ltd'], TOKENS.globex),
  homing(['code', 'list'], TOKENS.globex),
  homing(['distribute', '--source', 'iot-sh-1', '--nearest', 'eu-central-1=iot-de-1,cn-shanghai=iot-sh-1', '--product', 'a1lampXcli1', '--devices', 'xcli-0002', '--wait'], TOKENS.acme),
  homing(['distribute', '--source', 'iot-sh-1', '--product', 'a1lampXcli1', '--devices', 'xcli-0001'], TOKENS.acme),
  homing(['distribute', '--source', 'iot-sh-1', '--nearest', 'eu-central-1', '--product', 'a1lampXcli1', '--devices', 'xcli-0001'], TOKENS.acme)
])
const code = JSON.parse(listed.stdout).codes[0].code as string
const crossArgs = ['distribute', '--source', 'iot-sh-1', '--target', 'iot-gx-1', '--to-account', 'globex', '--code', code, '--product', 'a1lampXcli1', '--devices', 'xcli-0001']
const moved = await homing([...crossArgs, '--wait'], TOKENS.acme)

t.test('code send answers without the code; code list shows codes to their destination only', async t => {
  t.equal(sent.code, 0, sent.stderr)
  t.match(JSON.parse(sent.stdout), { targetAccount: 'acme', expiresAt: Number })
  t.notMatch(sent.stdout, /"code"/)
  const [forAcme] = (await acme('GET', '/distribution/verification-codes')).json.codes
  t.match(forAcme, { sourceAccount: { id: 'globex' }, code: /^\d{6}$/ })
  t.notOk(sent.stdout.includes(forAcme.code), 'the sender never sees it')
  t.equal(listed.code, 0, listed.stderr)
  t.match(JSON.parse(listed.stdout).codes, [{ sourceAccount: { id: 'acme', name: 'Acme Ltd' }, code: /^\d{6}$/ }])
})

t.test('distribute --to-account --code moves a device to another account; the code is used up', async t => {
  t.equal(moved.code, 0, moved.stderr)
  t.match(JSON.parse(moved.stdout), { status: 'distributed', method: 'cross-account', targetAccount: 'globex', counts: { succeeded: 1 } })
  t.equal((await apiClient(sidecar.url, TOKENS.globex)('GET', '/products/a1lampXcli1/devices/xcli-0001')).json.instanceId, 'iot-gx-1')
  const again = await acme('POST', '/distribution/jobs', { method: 'cross-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-gx-1', targetAccount: 'globex', verificationCode: code, productKey: 'a1lampXcli1', deviceNames: ['xcli-0002'] })
  t.equal(again.status, 403)
})

t.test('distribute --nearest leaves the device waiting among one instance per region', async t => {
  t.equal(nearest.code, 0, nearest.stderr)
  t.match(JSON.parse(nearest.stdout), { status: 'distributed', policy: 'nearest', targets: [{ region: 'eu-central-1', instanceId: 'iot-de-1' }, { region: 'cn-shanghai', instanceId: 'iot-sh-1' }] })
  t.match((await acme('GET', '/products/a1lampXcli1/devices/xcli-0002')).json, { instanceId: null, candidates: [{ instanceId: 'iot-de-1' }, { instanceId: 'iot-sh-1' }] })
})

t.test('a distribute without a destination, or with a malformed --nearest, says what to give', async t => {
  t.equal(neither.code, 1)
  t.match(neither.stderr, /--target INSTANCE, or --nearest REGION=INSTANCE/)
  t.not(badPair.code, 0)
  t.match(badPair.stderr, /"eu-central-1" is not REGION=INSTANCE/)
})
