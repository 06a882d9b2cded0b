import t from 'tap'
import { clientAddress } from '../shared/client-address.js'
import { distanceKm, isPublicAddress, locate } from '../shared/geo.js'
import { choosePlacement } from '../shared/placement.js'
import type { Candidate, Region } from '../shared/types.js'
import { FRANKFURT, SHANGHAI, SILICON_VALLEY } from './helpers/regions.js'

const regions = new Map<string, Region>([
  ['cn-shanghai', SHANGHAI],
  ['eu-central-1', FRANKFURT],
  ['us-west-1', SILICON_VALLEY],
  ['ap-northeast-1', { id: 'ap-northeast-1', name: 'Japan (Tokyo)', lat: 35.68, lon: 139.69 }]
])
const targets: Candidate[] = [
  { region: 'eu-central-1', instanceId: 'iot-de' },
  { region: 'cn-shanghai', instanceId: 'iot-sh' },
  { region: 'us-west-1', instanceId: 'iot-us' },
  { region: 'ap-northeast-1', instanceId: 'iot-jp' }
]

t.test('real public addresses are placed in the nearest target region (shipped GeoLite data)', async t => {
  const cases: [string, string][] = [
    ['81.2.69.142', 'iot-de'], // St Albans, England
    ['2a00:1450:4001:81b::200e', 'iot-de'], // Frankfurt, IPv6
    ['202.96.209.133', 'iot-sh'], // China
    ['133.242.0.1', 'iot-jp'], // Tokyo
    ['8.8.8.8', 'iot-us'], // United States
    ['2001:4860:4860::8888', 'iot-us'], // United States, IPv6
    ['::ffff:8.8.8.8', 'iot-us'], // IPv4 on a dual-stack socket
    ['41.203.64.1', 'iot-de'] // Lagos: Frankfurt is the nearest of the four
  ]
  for (const [address, want] of cases) {
    const choice = choosePlacement(targets, regions, address)
    t.equal(choice.candidate.instanceId, want, address)
    t.equal(choice.fallback, false, `${address} is not a fallback`)
  }
  // Rio: compute the answer from the distances themselves rather than from intuition.
  const rio = locate('200.160.2.3')
  t.ok(rio)
  const byDistance = targets.map(c => ({ c, km: distanceKm(rio!, regions.get(c.region)!) })).sort((a, b) => a.km - b.km)
  t.equal(choosePlacement(targets, regions, '200.160.2.3').candidate.instanceId, byDistance[0]?.c.instanceId)
})

t.test('private, loopback and unknown addresses fall back, and say so', async t => {
  for (const address of ['127.0.0.1', '10.1.2.3', '192.168.1.10', '172.20.0.5', '::1', 'fd00::1', 'fe80::1', '1.1.1.1', 'not an ip']) {
    const choice = choosePlacement(targets, regions, address)
    t.equal(choice.candidate.instanceId, 'iot-de', `${address}: the first target`)
    t.equal(choice.fallback, true)
  }
  t.equal(choosePlacement(targets, regions, null).fallback, true)
  const configured = choosePlacement(targets, regions, '10.0.0.1', 'us-west-1')
  t.same(configured, { candidate: { region: 'us-west-1', instanceId: 'iot-us' }, fallback: true }, 'a configured default region wins')
  t.equal(choosePlacement(targets, regions, '10.0.0.1', 'sa-east-1').candidate.instanceId, 'iot-de', 'a default region not among the targets is not used')
  t.throws(() => choosePlacement([], regions, '8.8.8.8'))
})

t.test('great-circle distance', async t => {
  const km = distanceKm({ lat: 31.23, lon: 121.47 }, { lat: 50.11, lon: 8.68 })
  t.ok(km > 8800 && km < 8950, `Shanghai-Frankfurt ${km.toFixed(0)} km`)
  t.equal(distanceKm({ lat: 1, lon: 2 }, { lat: 1, lon: 2 }), 0)
  t.equal(isPublicAddress('8.8.8.8'), true)
  t.equal(isPublicAddress('100.64.1.1'), false, 'carrier-grade NAT is not a location')
})

t.test('X-Forwarded-For is read only when the proxy is trusted', async t => {
  t.equal(clientAddress('10.0.0.2', '81.2.69.142', false), '10.0.0.2', 'ignored when not trusted')
  t.equal(clientAddress('10.0.0.2', '81.2.69.142', true), '81.2.69.142')
  t.equal(clientAddress('10.0.0.2', '8.8.8.8, 81.2.69.142, 10.0.0.7', true), '81.2.69.142', 'the first untrusted hop from the right; the client-sent left part is not believed')
  t.equal(clientAddress('10.0.0.2', ['8.8.8.8', '133.242.0.1'], true), '133.242.0.1', 'several header lines')
  t.equal(clientAddress('10.0.0.2', '10.0.0.9, 192.168.0.1', true), '10.0.0.9', 'only private hops: the leftmost')
  t.equal(clientAddress('::ffff:10.0.0.2', undefined, true), '10.0.0.2', 'no header: the socket peer')
  t.equal(clientAddress('10.0.0.2', 'garbage, , 2001:4860:4860::8888', true), '2001:4860:4860::8888', 'IPv6, junk skipped')
  t.equal(clientAddress(undefined, undefined, false), null)
})
