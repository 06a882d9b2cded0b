// The load generator's parsing and summary logic (no timings: only what the numbers add up to).
import t from 'tap'
import { InvalidArgumentError } from 'commander'
import { BootstrapError } from '../device/bootstrap.js'
import { ConnectFailedError, ConnectRefusedError } from '../device/connect.js'
import { certificatesIn, formatCertificates, parseCertificates } from '../bench/loadtest/certificates.js'
import { checkOptions, integer, parseSources, parseUrl, workerCount, type LoadtestOptions } from '../bench/loadtest/options.js'
import { bar, progressLine } from '../bench/loadtest/progress.js'
import { split } from '../bench/loadtest/run.js'
import { emptyCounters, failureCause, loopBusy, mergeCounters, Recorder, summarize, summaryTable } from '../bench/loadtest/stats.js'

t.test('--sources takes a count from 127.0.0.2 upwards, or a list; bad entries are named', async t => {
  t.same(parseSources('3'), ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
  t.same(parseSources('0'), [])
  t.same(parseSources('127.0.0.9, 127.0.1.1'), ['127.0.0.9', '127.0.1.1'])
  t.throws(() => parseSources('127.0.0.300'), InvalidArgumentError)
  t.throws(() => parseSources('localhost'), /not an IPv4 address/)
  t.throws(() => parseSources('999'), /at most 250/)
})

t.test('numbers and URLs are checked with a message that says what was expected', async t => {
  t.equal(integer(1, 10)('7'), 7)
  t.throws(() => integer(1, 10)('11'), /expected 1..10, got 11/)
  t.throws(() => integer(1)('2.5'), /whole number/)
  t.equal(parseUrl('http://127.0.0.1:8080/whatever'), 'http://127.0.0.1:8080')
  t.throws(() => parseUrl('127.0.0.1:8080'), /not a URL|http/)
  t.throws(() => parseUrl('ftp://x'), /http:\/\/ or https:\/\//)
})

const base: LoadtestOptions = {
  url: 'http://127.0.0.1:1',
  devices: 100,
  sources: [],
  ramp: 10,
  inFlight: 10,
  duration: 1,
  publishRate: 0,
  keepalive: 1200,
  form: 'link-sdk-c',
  connectTimeout: 1000,
  backoffBase: 10,
  backoffCap: 100,
  mqttTls: false,
  progress: false
}

t.test('options that only work together are refused with the fix in the message', async t => {
  t.match(checkOptions(base), /--token/)
  t.match(checkOptions({ ...base, token: 'x' }), /--instance/)
  t.equal(checkOptions({ ...base, token: 'x', instance: 'i' }), null)
  t.equal(checkOptions({ ...base, certificates: 'f.csv' }), null)
  t.match(checkOptions({ ...base, certificates: 'f.csv', devices: 40_000, workers: 2 }), /20000 devices in a worker; at most 15000 \(use --workers 3/)
  t.match(checkOptions({ ...base, certificates: 'f.csv', backoffBase: 500, backoffCap: 100 }), /--backoff-base/)
})

t.test('workers: one per 12,000 devices unless given; devices split evenly and in order', async t => {
  t.equal(workerCount(1), 1)
  t.equal(workerCount(12_000), 1)
  t.equal(workerCount(12_001), 2)
  t.equal(workerCount(50_000), 5)
  t.equal(workerCount(50_000, 4), 4)
  const parts = split(Array.from({ length: 10 }, (_, i) => i), 3)
  t.same(parts, [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]])
  t.same(split([1], 1), [[1]])
})

t.test('a certificates CSV is read by header; a bad row is named by its line', async t => {
  const csv = 'productKey,deviceName,deviceSecret\na1pk,dev-1,s1\n\na1pk,dev-2,s2\n'
  t.same(parseCertificates(csv), [
    { productKey: 'a1pk', deviceName: 'dev-1', deviceSecret: 's1' },
    { productKey: 'a1pk', deviceName: 'dev-2', deviceSecret: 's2' }
  ])
  t.same(parseCertificates(formatCertificates(parseCertificates(csv))), parseCertificates(csv), 'written and read back unchanged')
  t.throws(() => parseCertificates('productKey,deviceName,deviceSecret\na1pk,dev-1,\n', 'f.csv'), /f\.csv: row 2 needs productKey, deviceName and deviceSecret/)
  t.throws(() => parseCertificates('productKey,deviceName\na1pk,"dev', 'g.csv'), /g\.csv: not CSV/)
})

t.test('certificates are found in the create-devices answer, whatever list holds them', async t => {
  const c = { productKey: 'p', deviceName: 'd', deviceSecret: 's' }
  t.same(certificatesIn({ productKey: 'p', certificates: [c] }), [c])
  t.same(certificatesIn({ devices: [{ ...c, extra: 1 }] }), [c])
  t.same(certificatesIn([c]), [c])
  t.throws(() => certificatesIn({ nothing: true }), /no list of certificates/)
})

t.test('failures are counted by a short cause', async t => {
  const econn = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
  t.equal(failureCause({ step: 'bootstrap', error: new BootstrapError('x', 429, 1000, 429) }), 'bootstrap 429')
  t.equal(failureCause({ step: 'bootstrap', error: new BootstrapError('bootstrap timed out', null) }), 'bootstrap timeout')
  t.equal(failureCause({ step: 'bootstrap', error: new BootstrapError('unreachable', null, null, null, { cause: econn }) }), 'bootstrap ECONNREFUSED')
  t.equal(failureCause({ step: 'bootstrap', error: new BootstrapError('bad', null) }), 'bootstrap bad answer')
  t.equal(failureCause({ step: 'connect', error: new ConnectRefusedError(5) }), 'CONNACK 5')
  t.equal(failureCause({ step: 'connect', error: new ConnectFailedError('no', { cause: econn }) }), 'connect ECONNREFUSED')
  t.equal(failureCause({ step: 'connect', error: new ConnectFailedError('no CONNACK') }), 'connect no CONNACK')
  t.equal(failureCause({ step: 'connect', error: new TypeError('x') }), 'connect TypeError')
})

t.test("workers' reports merge: counts add up, first/last times are the extremes, histograms combine", async t => {
  const a = new Recorder()
  const b = new Recorder()
  Object.assign(a.counters, { started: 3, connected: 3, online: 2, dropped: 1, firstConnectedAt: 1000, lastConnectedAt: 3000 })
  Object.assign(b.counters, { started: 2, connected: 1, online: 1, notified: 1, rehomed: 1, firstConnectedAt: 500, lastConnectedAt: 2000, lastRehomedAt: 9000 })
  a.fail('CONNACK 5')
  a.fail('CONNACK 5')
  b.fail('CONNACK 5')
  b.fail('bootstrap 503')
  for (const ms of [10, 20, 30]) a.record('connect', ms)
  b.record('connect', 1000)
  b.record('rehome', 250)
  const m = mergeCounters([a.counters, b.counters])
  t.same(m, { ...emptyCounters(), started: 5, connected: 4, online: 3, dropped: 1, notified: 1, rehomed: 1, firstConnectedAt: 500, lastConnectedAt: 3000, lastRehomedAt: 9000, failures: { 'CONNACK 5': 3, 'bootstrap 503': 1 } })

  const s = summarize({ devices: 5, workers: 2, sources: ['127.0.0.2'], startedAt: 1000, endedAt: 11_000, reports: [a.report(true), b.report(true)] })
  t.equal(s.connected, 4)
  t.equal(s.connectRate, 2, '4 connected over the 2 s from the start to the last first CONNACK')
  t.equal(s.elapsedS, 10)
  t.equal(s.latencyMs.connect.count, 4)
  t.ok(s.latencyMs.connect.p50 >= 19.9 && s.latencyMs.connect.p50 <= 20.1, 'p50 of 10, 20, 30, 1000 ms is 20 ms')
  t.ok(s.latencyMs.connect.max >= 999 && s.latencyMs.connect.max <= 1001)
  t.equal(s.latencyMs.rehome.count, 1)
  t.equal(s.latencyMs.bootstrap.count, 0)
  const table = summaryTable(s)
  t.match(table, /connected\s+4 \(2 \/s\)/)
  t.match(table, /bootstrap ms\s+-/)
  t.match(table, /failures\s+CONNACK 5: 3, bootstrap 503: 1/)
  t.match(table, /2 workers, sources 127\.0\.0\.2/)
})

t.test('notifies: the first and the latest over the workers; the event loop share busy over a window', async t => {
  const a = new Recorder()
  const b = new Recorder()
  a.notified(2000)
  a.notified(5000)
  b.notified(1500)
  const m = mergeCounters([a.counters, b.counters])
  t.equal(m.notified, 3)
  t.equal(m.firstNotifiedAt, 1500)
  t.equal(m.lastNotifiedAt, 5000)
  t.equal(loopBusy({ idle: 100, active: 100 }, { idle: 400, active: 200 }), 0.25, '100 ms busy of 400')
  t.equal(loopBusy({ idle: 1, active: 1 }, { idle: 1, active: 1 }), 0, 'an empty window')
  const report = a.report(false, { idle: 7, active: 3 })
  t.same(report.loop, { idle: 7, active: 3 })
  t.equal(report.histograms, undefined)
})

t.test('a run with no connection yet summarizes to zeros, not NaN', async t => {
  const s = summarize({ devices: 1, workers: 1, sources: [], startedAt: 0, endedAt: 0, reports: [new Recorder().report(true)] })
  t.equal(s.connectRate, 0)
  t.equal(s.latencyMs.connect.p99, 0)
  t.match(summaryTable(s), /sources default/)
})

t.test('the progress line and bar show what is connected', async t => {
  const c = { ...emptyCounters(), connected: 5, online: 5, failures: { x: 2 }, rehomed: 1, notified: 2 }
  t.match(progressLine(c, 10, 3), /connected 5\/10\s+online 5\s+failed attempts 2\s+rehomed 1\/2/)
  t.equal(bar(5, 10, 10), '[#####.....]')
  t.equal(bar(0, 0, 4), '[####]')
})
