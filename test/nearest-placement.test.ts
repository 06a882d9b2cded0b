// docs/distribution.md, "Rule 7": a device waiting for nearest placement is placed at its first bootstrap, in the
// target region nearest to its public address (shipped GeoLite data), once, and keeps that home.
// Real bootstrap requests; the test's socket peer is 127.0.0.1, so addresses from around the world
// arrive the way they do behind a load balancer: in X-Forwarded-For, believed only with trustProxy.
import t from 'tap'
import { parseConfig, type Config } from '../shared/config.js'
import type { Candidate } from '../shared/types.js'
import { makeDevices } from './helpers/broker.js'
import { FRANKFURT, SHANGHAI, SILICON_VALLEY } from './helpers/regions.js'
import { openTestRegistry } from './helpers/registry.js'
import { startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const { store } = await openTestRegistry(t, 'nearest-place')

const instance = (id: string, region: string) => ({ id, region, account: 'acme', endpoint: { host: `mqtt.${id}.example.com`, port: 1883 } })
function config (bootstrap: Record<string, unknown>): Config {
  return parseConfig({
    bootstrap: { host: '127.0.0.1', port: 0, ...bootstrap },
    regions: [
      SHANGHAI,
      FRANKFURT,
      SILICON_VALLEY,
      { id: 'ap-northeast-1', name: 'Japan (Tokyo)', lat: 35.68, lon: 139.69 },
      { id: 'sa-east-1', name: 'Brazil (Sao Paulo)', lat: -23.55, lon: -46.63 }
    ],
    accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKENS.acme }],
    instances: [instance('iot-sh', 'cn-shanghai'), instance('iot-de', 'eu-central-1'), instance('iot-us', 'us-west-1'),
      instance('iot-jp', 'ap-northeast-1'), instance('iot-sa', 'sa-east-1')]
  })
}

const trusting = await startTestSidecar(store, config({ trustProxy: true }))
const direct = await startTestSidecar(store, config({ trustProxy: false }))
const withDefault = await startTestSidecar(store, config({ trustProxy: true, defaultRegion: 'us-west-1' }))
t.teardown(async () => {
  await trusting.close()
  await direct.close()
  await withDefault.close()
})

const PK = 'a1NearPlace'
// The source instance is a target too (the seed: "to distribute to the source region, select it").
const targets: Candidate[] = [
  { region: 'eu-central-1', instanceId: 'iot-de' },
  { region: 'cn-shanghai', instanceId: 'iot-sh' },
  { region: 'us-west-1', instanceId: 'iot-us' },
  { region: 'ap-northeast-1', instanceId: 'iot-jp' },
  { region: 'sa-east-1', instanceId: 'iot-sa' }
]

let jobs = 0
/** A device left waiting among `targets`, as a nearest job leaves it. */
async function waiting (deviceName: string): Promise<string> {
  const jobId = `job-near-${++jobs}`
  await makeDevices(store, PK, [deviceName], 'iot-sh')
  const outcome = await store.setCandidates(PK, deviceName, { from: 'iot-sh', candidates: targets, jobId })
  if (outcome.result !== 'moved') throw new Error(`${deviceName}: ${outcome.result}`)
  return jobId
}

/** One bootstrap as the Link SDK sends it; answers the status and the MQTT host handed out. */
async function bootstrap (url: string, deviceName: string, forwardedFor?: string): Promise<{ status: number, host: string | null }> {
  const res = await fetch(`${url}/auth/bootstrap`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(forwardedFor === undefined ? {} : { 'X-Forwarded-For': forwardedFor }) },
    body: new URLSearchParams({ productKey: PK, deviceName, clientId: `${PK}.${deviceName}`, resources: 'mqtt' }).toString()
  })
  const body = await res.json() as { data?: { resources?: { mqtt?: { host?: string } } } }
  return { status: res.status, host: body.data?.resources?.mqtt?.host ?? null }
}

const host = (instanceId: string): string => `mqtt.${instanceId}.example.com`

t.test('addresses from several continents, IPv4 and IPv6, are placed in the nearest target region', async t => {
  const cases: [string, string, string][] = [
    ['81.2.69.142', 'iot-de', 'England'],
    ['2a00:1450:4001:81b::200e', 'iot-de', 'Frankfurt, IPv6'],
    ['202.96.209.133', 'iot-sh', 'Shanghai'],
    ['133.242.0.1', 'iot-jp', 'Tokyo'],
    ['8.8.8.8', 'iot-us', 'United States'],
    ['2001:4860:4860::8888', 'iot-us', 'United States, IPv6'],
    ['200.160.2.3', 'iot-sa', 'Brazil']
  ]
  for (const [address, want, where] of cases) {
    const dn = `dev-${want}-${address.replace(/[^0-9a-f]/gi, '')}`.slice(0, 32)
    const jobId = await waiting(dn)
    const res = await bootstrap(trusting.url, dn, address)
    t.same(res, { status: 200, host: host(want) }, `${where} (${address}) -> ${want}`)
    const device = await store.getDevice(PK, dn)
    t.match(device, { instanceId: want, candidates: null, placement: { instanceId: want, fallback: false, address } }, 'the placement is recorded on the device')
    t.equal(device?.runtime[want]?.active, false, 'inactive at its new home until its first CONNECT')
    const [record] = await store.getRecords(jobId)
    t.match(record?.message, new RegExp(`placed at ${want} \\(.+\\), nearest to ${address.replace(/\./g, '\\.')}$`), 'and in the job record')
  }
})

t.test('behind a trusted proxy the first untrusted hop from the right is the device; what it sent itself is not believed', async t => {
  await waiting('dev-spoofing')
  // The device claims Tokyo; the proxy appended the address it really came from (England), then a private hop.
  const res = await bootstrap(trusting.url, 'dev-spoofing', '133.242.0.1, 81.2.69.142, 10.0.0.7')
  t.same(res, { status: 200, host: host('iot-de') })
})

t.test('without trustProxy the header is ignored: the socket peer (loopback) has no location, so the fallback is used and said', async t => {
  const jobId = await waiting('dev-direct')
  const res = await bootstrap(direct.url, 'dev-direct', '133.242.0.1')
  t.same(res, { status: 200, host: host('iot-de') }, 'the first target, not Tokyo')
  t.match(await store.getDevice(PK, 'dev-direct'), { instanceId: 'iot-de', placement: { fallback: true, address: '127.0.0.1' } })
  t.match((await store.getRecords(jobId))[0]?.message, /^placed at iot-de \(eu-central-1\), fallback: 127\.0\.0\.1 has no known location$/)
})

t.test('private and unknown addresses fall back to the configured default region when it is a target', async t => {
  for (const [dn, address] of [['dev-private', '192.168.1.20'], ['dev-unknown', '1.1.1.1']] as const) {
    const jobId = await waiting(dn)
    t.same(await bootstrap(withDefault.url, dn, address), { status: 200, host: host('iot-us') }, address)
    t.match(await store.getDevice(PK, dn), { placement: { instanceId: 'iot-us', region: 'us-west-1', fallback: true } })
    t.match((await store.getRecords(jobId))[0]?.message, /fallback/)
  }
})

t.test('once placed, a device keeps its home on later bootstraps, wherever it bootstraps from', async t => {
  await waiting('dev-keeps')
  t.same(await bootstrap(trusting.url, 'dev-keeps', '81.2.69.142'), { status: 200, host: host('iot-de') })
  const placedAt = (await store.getDevice(PK, 'dev-keeps'))?.placement
  for (const address of ['8.8.8.8', '133.242.0.1']) {
    t.same(await bootstrap(trusting.url, 'dev-keeps', address), { status: 200, host: host('iot-de') }, `still iot-de from ${address}`)
  }
  t.same((await store.getDevice(PK, 'dev-keeps'))?.placement, placedAt, 'the placement is not rewritten')
})

t.test('concurrent first bootstraps from different continents place the device once, and all of them get that home', async t => {
  const jobId = await waiting('dev-racing')
  const addresses = ['81.2.69.142', '8.8.8.8', '133.242.0.1', '202.96.209.133', '200.160.2.3', '2001:4860:4860::8888']
  const answers = await Promise.all([...addresses, ...addresses].map(a => bootstrap(trusting.url, 'dev-racing', a)))
  const device = await store.getDevice(PK, 'dev-racing')
  t.ok(device?.instanceId !== null && device?.instanceId !== undefined, 'placed')
  t.same(new Set(answers.map(a => `${a.status} ${a.host}`)), new Set([`200 ${host(device!.instanceId!)}`]), 'every answer names the one home')
  const records = await store.getRecords(jobId)
  t.equal(records.length, 1, 'one record')
  t.match(records[0]?.message, new RegExp(`^placed at ${device!.instanceId} `), 'that names the one placement')
})

t.test('a device whose candidates all left the config is not placed anywhere', async t => {
  await makeDevices(store, PK, ['dev-orphan'], 'iot-sh')
  await store.setCandidates(PK, 'dev-orphan', { from: 'iot-sh', candidates: [{ region: 'eu-central-1', instanceId: 'iot-gone' }], jobId: 'job-orphan' })
  t.equal((await bootstrap(trusting.url, 'dev-orphan', '81.2.69.142')).status, 404)
  t.match(await store.getDevice(PK, 'dev-orphan'), { instanceId: null, placement: null })
})
