// Bulk creation on the real Redis registry: 10,000 devices in one API call, all or nothing, and
// `homing devices import` (the compiled bin) creating a larger fleet in calls, certificates as CSV.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { startRedisSidecar } from './helpers/redis-sidecar.js'
import { TOKENS } from './helpers/test-sidecar.js'
import { allDeviceNames } from '../shared/store/device-pages.js'

const sidecar = await startRedisSidecar(t, 'devices-import')
const { store, acme } = sidecar
const dir = await mkdtemp(join(tmpdir(), 'homing-import-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

async function newProduct (productKey: string): Promise<void> {
  const res = await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey })
  if (res.status !== 201) throw new Error(`product ${productKey}: ${res.status} ${res.text}`)
}

const numbered = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(5, '0')}`)

function homing (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, ['bin/homing.js', ...args, '--url', sidecar.url], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HOMING_TOKEN: TOKENS.acme } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

t.test('the API creates 10,000 devices in one call, refuses 10,001, and refuses a call with one taken name', async t => {
  const PK = 'a1bulkapi01'
  await newProduct(PK)
  const names = numbered('bulk', 10_000)
  const res = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: names })
  t.equal(res.status, 201, res.text.slice(0, 300))
  t.equal(res.json.certificates.length, 10_000)
  t.equal((await allDeviceNames(store, PK)).length, 10_000, 'the registry has all of them')

  const tooMany = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: numbered('more', 10_001) })
  t.equal(tooMany.status, 400)
  t.match(tooMany.json.error.message, /10000/, 'the refusal names the limit')
  const tooManyCount = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', count: 10_001 })
  t.equal(tooManyCount.status, 400)
  t.match(tooManyCount.json.error.message, /10000/)

  const oneTaken = [...numbered('fresh', 9_999), 'bulk-05000']
  const refused = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: oneTaken })
  t.equal(refused.status, 409)
  t.match(refused.json.error.message, /"bulk-05000" is taken: nothing was created/)
  t.equal((await allDeviceNames(store, PK)).length, 10_000, 'nothing of the refused call was written')
  t.equal(await store.getDevice(PK, 'fresh-00001'), null)
})

t.test('homing devices import --count 25000 prints 25,000 certificates and the registry has them', async t => {
  const PK = 'a1bulkcli01'
  await newProduct(PK)
  const out = await homing(['devices', 'import', PK, '--count', '25000'])
  t.equal(out.code, 0, out.stderr)
  const rows = parse(out.stdout) as string[][]
  t.same(rows[0], ['productKey', 'deviceName', 'deviceSecret'], 'a header first')
  t.equal(rows.length, 25_001, '25,000 certificate rows and the header')
  t.ok(rows.slice(1).every(r => r[0] === PK && r.length === 3 && (r[2] ?? '').length > 0), 'every row a certificate of the product')
  t.equal(new Set(rows.slice(1).map(r => r[1])).size, 25_000, 'distinct names')
  const listed = await allDeviceNames(store, PK)
  t.equal(listed.length, 25_000, 'the registry has them')
  const one = rows[12_345] as string[]
  t.equal((await store.getDevice(PK, one[1] as string))?.deviceSecret, one[2], 'the printed secret is the stored one')
  t.match(out.stderr, /created 25000 devices of a1bulkcli01 at iot-sh-1/)
})

t.test('homing devices import --csv reads a deviceName column or one name per line; a failed call says how to go on', async t => {
  const PK = 'a1bulkcsv01'
  await newProduct(PK)
  const withHeader = join(dir, 'with-header.csv')
  await writeFile(withHeader, 'serial,deviceName\n' + numbered('csv', 12_000).map((n, i) => `${i},${n}`).join('\n') + '\n')
  const out = await homing(['devices', 'import', PK, '--csv', withHeader])
  t.equal(out.code, 0, out.stderr)
  const rows = parse(out.stdout) as string[][]
  t.equal(rows.length, 12_001)
  t.same(rows.slice(1).map(r => r[1]), numbered('csv', 12_000), 'the names of the file, in order')
  t.equal((await allDeviceNames(store, PK)).length, 12_000)

  // One name per line; the second call holds a name the first run created: the import stops after call 1.
  const plain = join(dir, 'plain.csv')
  await writeFile(plain, [...numbered('line', 10_000), 'csv-00001', ...numbered('tail', 5)].join('\n'))
  const failed = await homing(['devices', 'import', PK, '--csv', plain])
  t.equal(failed.code, 1)
  t.equal((parse(failed.stdout) as string[][]).length, 10_001, 'the certificates of the call that worked')
  t.match(failed.stderr, /call 2 \(devices 10001-10006\) failed, nothing of it was created: 409/)
  t.match(failed.stderr, /10000 devices were created .*--skip 10000/)
  t.equal((await allDeviceNames(store, PK)).length, 22_000, 'call 2 wrote nothing')
  t.equal(await store.getDevice(PK, 'tail-00001'), null)
})
