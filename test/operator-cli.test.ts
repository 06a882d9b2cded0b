// The operator's CLI as an operator runs it (the bin, in child processes) against `homing up` on the
// demo config: products, devices, instances, --output table|json|csv, --version, errors that say
// what to do, `homing device` giving up on a wrong secret, and `distribute --wait` (progress bar on a
// terminal, --timeout) against a stand-in API whose job never ends.
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startDemo } from './helpers/demo.js'
import { freePort } from './helpers/free-port.js'

const { url: URL_, ports } = await startDemo(t, ['--quiet'])

interface Result { code: number, stdout: string, stderr: string }
const ACME = { HOMING_URL: URL_, HOMING_TOKEN: 'demo-acme-token-change-me' }

function homing (args: string[], env: Record<string, string> = ACME): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, HOMING_URL: '', HOMING_TOKEN: '', ...env }, timeout: 25_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
}
const json = (r: Result): any => { // any: the test reads the printed JSON as a script would
  try {
    return JSON.parse(r.stdout)
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`)
  }
}
const EPOCH_MS = /\b1\d{12}\b/

t.test('--version prints package.json\'s version', async t => {
  const r = await homing(['--version'])
  t.same([r.code, r.stdout], [0, `${JSON.parse(readFileSync('package.json', 'utf8')).version as string}\n`])
})

t.test('products and devices: create, list, show, certificate, delete; JSON when piped', async t => {
  const product = await homing(['products', 'create', '--instance', 'iot-sh-1', '--name', 'Lamp', '--product-key', 'a1CliLamp01'])
  t.equal(product.code, 0, product.stderr)
  t.match(json(product), { productKey: 'a1CliLamp01', instanceId: 'iot-sh-1', name: 'Lamp', readOnly: false })
  // Without --instance the devices go to the product's own instance.
  const created = await homing(['devices', 'create', 'a1CliLamp01', 'cli-001', 'cli-002'])
  t.equal(created.code, 0, created.stderr)
  const certificates = json(created).certificates as { deviceName: string, deviceSecret: string }[]
  t.same(certificates.map(c => c.deviceName), ['cli-001', 'cli-002'])
  const [list, show, certificate, products, instances] = await Promise.all([
    homing(['devices', 'list', 'a1CliLamp01']),
    homing(['devices', 'show', 'a1CliLamp01', 'cli-001']),
    homing(['devices', 'certificate', 'a1CliLamp01', 'cli-002']),
    homing(['products', 'list', '--instance', 'iot-sh-1']),
    homing(['instances'])
  ])
  t.same(json(list).devices.map((d: { deviceName: string, status: string }) => [d.deviceName, d.status]), [['cli-001', 'inactive'], ['cli-002', 'inactive']])
  t.match(json(show), { deviceName: 'cli-001', instanceId: 'iot-sh-1', status: 'inactive' })
  t.notMatch(show.stdout, /deviceSecret/, 'show never carries the secret')
  t.same(json(certificate), { productKey: 'a1CliLamp01', deviceName: 'cli-002', deviceSecret: certificates[1]?.deviceSecret })
  t.same(json(products).products.map((p: { productKey: string }) => p.productKey), ['a1CliLamp01'])
  t.same(json(instances).instances.map((i: { id: string, endpoint: { port: number } }) => [i.id, i.endpoint.port]), [['iot-sh-1', ports.sh], ['iot-de-1', ports.de]])

  const refused = await homing(['products', 'delete', 'a1CliLamp01'])
  t.equal(refused.code, 1, 'a product with devices is not deleted')
  t.match(refused.stderr, /^homing: 409: /)
  for (const dn of ['cli-001', 'cli-002']) {
    const deleted = await homing(['devices', 'delete', 'a1CliLamp01', dn])
    t.same([deleted.code, deleted.stdout, deleted.stderr], [0, '', `deleted device a1CliLamp01/${dn}\n`])
  }
  t.equal((await homing(['devices', 'show', 'a1CliLamp01', 'cli-001'])).code, 1, 'a deleted device is gone')
  t.equal((await homing(['products', 'delete', 'a1CliLamp01'])).code, 0)
  t.same(json(await homing(['products', 'list'])).products, [])
})

t.test('--output table has readable times and no epoch milliseconds; csv has a header and ISO times', async t => {
  await homing(['products', 'create', '--instance', 'iot-de-1', '--name', 'Plug, "smart"', '--product-key', 'a1CliPlug01'])
  await homing(['devices', 'create', 'a1CliPlug01', 'plug-001', '--instance', 'iot-de-1'])
  const [table, csv, one] = await Promise.all([
    homing(['devices', 'list', 'a1CliPlug01', '--output', 'table']),
    homing(['products', 'list', '--output', 'csv']),
    homing(['devices', 'show', 'a1CliPlug01', 'plug-001', '--output', 'table'])
  ])
  const job = await homing(['distribute', '--source', 'iot-de-1', '--target', 'iot-sh-1', '--product', 'a1CliPlug01', '--devices', 'plug-001', '--wait', '--output', 'table'])
  t.match(table.stdout, /^DEVICENAME +STATUS +INSTANCE .*CREATED\nplug-001 +inactive +iot-de-1 .*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$/)
  t.match(one.stdout, /^productKey +a1CliPlug01\ndeviceName +plug-001\n/m)
  t.match(csv.stdout, /^productKey,name,instance,readOnly,copiedFrom,created,updated\na1CliPlug01,"Plug, ""smart""",iot-de-1,false,,\d{4}-\d\d-\d\dT[\d:.]+Z,/)
  t.equal(job.code, 0, job.stderr)
  t.match(job.stdout, /^status +distributed$/m)
  const list = await homing(['job', 'list', '--output', 'table'])
  t.match(list.stdout, /^ID +STATUS +PRODUCT .*\nj\S+ +distributed +a1CliPlug01 /)
  const id = /^(j\S+) /m.exec(list.stdout)?.[1] ?? ''
  const [recordsJson, recordsTable, recordsCsv] = await Promise.all(['json', 'table', 'csv'].map(f => homing(['job', 'records', id, '--output', f])))
  t.same(json(recordsJson!), { records: [{ productKey: 'a1CliPlug01', deviceName: 'plug-001', code: 'success', message: 'moved to iot-sh-1; offline' }] })
  t.match(recordsTable?.stdout, /^PRODUCTKEY +DEVICENAME +CODE +MESSAGE\na1CliPlug01 +plug-001 +success +moved to iot-sh-1; offline\n$/)
  t.equal(recordsCsv?.stdout, 'productKey,deviceName,code,message\na1CliPlug01,plug-001,success,moved to iot-sh-1; offline\n')
  for (const r of [table, one, job, list]) t.notMatch(r.stdout, EPOCH_MS, 'no epoch milliseconds')
})

t.test('errors say what to do', async t => {
  const [wrongToken, noSidecar, noToken] = await Promise.all([
    homing(['products', 'list'], { HOMING_URL: URL_, HOMING_TOKEN: 'not-a-token' }),
    homing(['products', 'list'], { HOMING_URL: `http://127.0.0.1:${await freePort()}`, HOMING_TOKEN: 'x' }),
    homing(['products', 'list'], { HOMING_URL: URL_ })
  ])
  t.same([wrongToken.code, noSidecar.code], [1, 1])
  t.match(wrongToken.stderr, /^homing: 401: .*check --token or HOMING_TOKEN/)
  t.match(noSidecar.stderr, /cannot reach .*ECONNREFUSED.*--url or HOMING_URL/)
  t.match(noToken.stderr, /^homing: no API token: pass --token or set HOMING_TOKEN/)
})

t.test('homing device stops with exit 2 on a wrong secret or an unknown device, instead of retrying', async t => {
  await homing(['products', 'create', '--instance', 'iot-sh-1', '--name', 'Lamp', '--product-key', 'a1CliDev001'])
  await homing(['devices', 'create', 'a1CliDev001', 'dev-001'])
  const [wrong, unknown] = await Promise.all([
    homing(['device', '--bootstrap', URL_, '--product-key', 'a1CliDev001', '--device-name', 'dev-001', '--device-secret', 'wrong']),
    homing(['device', '--bootstrap', URL_, '--product-key', 'a1CliDev001', '--device-name', 'dev-999', '--device-secret', 'wrong'])
  ])
  t.equal(wrong.code, 2, wrong.stdout + wrong.stderr)
  t.match(wrong.stderr, /CONNACK 4\): the device secret is wrong for a1CliDev001\/dev-001; `homing devices certificate a1CliDev001 dev-001`/)
  t.equal(unknown.code, 2, unknown.stdout + unknown.stderr)
  t.match(unknown.stderr, /404: device not found: no device a1CliDev001\/dev-999 is known there/)
})

t.test('distribute --wait: a progress bar on a terminal, and --timeout gives up with exit 4 while the job goes on', async t => {
  // A stand-in for the API whose job gets to 1 of 2 devices and stays there.
  const api = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    if (req.method === 'POST') {
      res.statusCode = 202
      res.end(JSON.stringify({ jobId: 'jstuck', status: 'initializing' }))
      return
    }
    res.end(JSON.stringify({ id: 'jstuck', status: 'distributing', policy: 'region', sourceInstanceId: 'a', targetInstanceId: 'b', targetAccount: null, productKey: 'p', counts: { total: 2, succeeded: 1, failed: 0, pending: 1 }, error: null, createdAt: 0, updatedAt: 0 }))
  })
  await new Promise<void>(resolve => api.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { api.close() })
  const url = `http://127.0.0.1:${(api.address() as { port: number }).port}`
  const args = ['distribute', '--url', url, '--token', 't', '--source', 'a', '--target', 'b', '--product', 'p', '--devices', 'x,y', '--wait', '--timeout', '1']
  const piped = await homing(args, {})
  t.equal(piped.code, 4, piped.stderr)
  t.match(piped.stderr, /^homing: job jstuck still distributing after 1 s \(1\/2 done\); it goes on: `homing job show jstuck` follows it\n$/)
  t.notMatch(piped.stderr, /\[#/, 'no progress bar when stderr is not a terminal')
  // script(1) gives the command a terminal.
  const quoted = ['node', 'bin/homing.js', ...args].map(a => `'${a}'`).join(' ')
  const onTerminal = await new Promise<Result>(resolve => {
    execFile('script', ['-qec', quoted, '/dev/null'], { timeout: 25_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr })
    })
  })
  t.equal(onTerminal.code, 4, onTerminal.stdout)
  t.match(onTerminal.stdout, /jstuck \[#{15}-{15}\] 1\/2 {2}distributing/)
})

t.test('devices list pages by cursor, filters by status and name prefix, and --all reads every page', async t => {
  await homing(['products', 'create', '--instance', 'iot-sh-1', '--name', 'Pager', '--product-key', 'a1CliPage01'])
  await homing(['devices', 'create', 'a1CliPage01', 'pg-0001', 'pg-0002', 'pg-0003', 'pg-0011', 'pg-0012'])
  await homing(['devices', 'disable', 'a1CliPage01', 'pg-0002'])
  const first = await homing(['devices', 'list', 'a1CliPage01', '--limit', '2', '--output', 'table'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^DEVICENAME.*\npg-0001 .*\npg-0002 .*\n2 shown of 5 in all \(online 0, offline 0, inactive 4, disabled 1\); next page: --cursor (\S+)\n$/)
  const cursor = /--cursor (\S+)/.exec(first.stdout)?.[1] ?? ''
  const second = json(await homing(['devices', 'list', 'a1CliPage01', '--limit', '2', '--cursor', cursor]))
  t.same(second.devices.map((d: { deviceName: string }) => d.deviceName), ['pg-0003', 'pg-0011'])
  const all = json(await homing(['devices', 'list', 'a1CliPage01', '--limit', '2', '--all']))
  t.same(all.devices.map((d: { deviceName: string }) => d.deviceName), ['pg-0001', 'pg-0002', 'pg-0003', 'pg-0011', 'pg-0012'], '--all: three pages as one listing')
  t.equal(all.next, null)
  const [disabled, prefixed, bad] = await Promise.all([
    homing(['devices', 'list', 'a1CliPage01', '--status', 'disabled']),
    homing(['devices', 'list', 'a1CliPage01', '--prefix', 'pg-001']),
    homing(['devices', 'list', 'a1CliPage01', '--status', 'asleep'])
  ])
  t.same(json(disabled).devices.map((d: { deviceName: string }) => d.deviceName), ['pg-0002'])
  t.same(json(prefixed).devices.map((d: { deviceName: string }) => d.deviceName), ['pg-0011', 'pg-0012'])
  t.not(bad.code, 0)
  t.match(bad.stderr, /one of online, offline, inactive, disabled/)
})
