// `homing credentials` and `homing device` as an operator runs them (the compiled bin): the printed
// flags sign like the library, and the device command bootstraps, connects, and stops on SIGTERM.
import { execFile, spawn } from 'node:child_process'
import t from 'tap'
import { up } from '../bin/up.js'
import { credentials } from '../device/credentials.js'
import { parseConfig } from '../shared/config.js'
import { silentLogger } from '../shared/log.js'
import { freePort } from './helpers/free-port.js'
import { SHANGHAI } from './helpers/regions.js'

const TOKEN = 'token-of-the-device-command-test'
const port = await freePort()
const config = parseConfig({
  bootstrap: { host: '127.0.0.1', port: 0 },
  regions: [SHANGHAI],
  accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKEN }],
  instances: [{ id: 'iot-sh', region: 'cn-shanghai', account: 'acme', endpoint: { host: '127.0.0.1', port }, listen: { host: '127.0.0.1', mqtt: port } }]
})
const everything = await up(config, silentLogger)
t.teardown(() => everything.close())
const base = `http://127.0.0.1:${everything.sidecar.port}`
const api = async (path: string, body: unknown): Promise<any> => { // any: the API's JSON, read as a user would
  const res = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return await res.json()
}
await api('/products', { instanceId: 'iot-sh', name: 'Lamp', productKey: 'a1CmdLamp01' })
const created = await api('/products/a1CmdLamp01/devices', { instanceId: 'iot-sh', deviceNames: ['lamp-001'] })
const cert = created.certificates[0] as { productKey: string, deviceName: string, deviceSecret: string }

function homing (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/homing.js', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

t.test('homing credentials --json prints what the library computes for the same certificate', async t => {
  const flags = ['--product-key', cert.productKey, '--device-name', cert.deviceName, '--device-secret', cert.deviceSecret]
  const out = await homing(['credentials', ...flags, '--form', 'link-sdk-c', '--json'])
  t.equal(out.code, 0, out.stderr)
  const printed = JSON.parse(out.stdout) as { clientId: string, username: string, password: string }
  const conn = /_conn=([^,|]+)/.exec(printed.clientId)?.[1]
  t.same(printed, credentials(cert, { form: 'link-sdk-c', ...(conn === undefined ? {} : { conn }) }))
  const shell = await homing(['credentials', ...flags])
  t.match(shell.stdout, /^-i '.+' -u 'lamp-001&a1CmdLamp01' -P '[0-9a-f]+'\n$/, 'mosquitto flags, single-quoted')
})

t.test('homing device bootstraps, connects, and exits 0 on SIGTERM', async t => {
  const child = spawn(process.execPath, ['bin/homing.js', 'device', '--bootstrap', base, '--product-key', cert.productKey, '--device-name', cert.deviceName], {
    env: { ...process.env, DEVICE_SECRET: cert.deviceSecret }, stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  child.stderr.resume()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "connected to" line within 60 s:\n${stdout}`)), 60_000)
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (stdout.includes(`connected to 127.0.0.1:${port} (start)`)) { clearTimeout(timer); resolve() }
    })
  })
  t.pass('connected at its instance')
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const code = await Promise.race([exited, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('homing device did not exit within 10 s of SIGTERM')), 10_000) })])
  clearTimeout(timer)
  t.equal(code, 0)
})
