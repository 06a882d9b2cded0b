// The registry benchmark (`npm run bench -- --only registry`) in its smallest form, so that it keeps
// running: its own Redis Cluster and Redis, the real import command, pages, bootstrap, CONNECT and a
// job. What it counts is checked (devices, commands by name, answers); no timing is asserted.
import t from 'tap'
import { parseBenchArgs } from '../bench/options.js'
import { parseCommandStats, perOperation } from '../bench/redis-stats.js'
import { percentile } from '../bench/registry-pages.js'
import { registry, registrySizes } from '../bench/scenarios/registry.js'
import type { Figure } from '../bench/report.js'

t.test('--devices sizes the registry scenario and is a whole number', async t => {
  t.equal(parseBenchArgs(['--only', 'registry', '--devices', '2000']).devices, 2000)
  t.equal(parseBenchArgs(['--only', 'registry']).devices, undefined)
  t.throws(() => parseBenchArgs(['--devices', 'many']), /whole number/)
  t.match(registrySizes({ quick: false }), { devices: 1_000_000, small: 10_000, jobDevices: 10_000, pages: 200 })
  t.match(registrySizes({ quick: true }), { devices: 50_000, small: 10_000, jobDevices: 10_000 })
  t.match(registrySizes({ quick: false, devices: 400 }), { devices: 400, small: 200, jobDevices: 400, clients: 200 })
})

t.test('INFO commandstats is read by command name; per-operation lists the most used first', async t => {
  const info = '# Commandstats\r\ncmdstat_get:calls=40,usec=80,usec_per_call=2.00\r\ncmdstat_cluster|slots:calls=1,usec=9\r\ncmdstat_evalsha:calls=20,usec=100\r\n'
  t.same(parseCommandStats(info), { get: 40, 'cluster|slots': 1, evalsha: 20 })
  t.equal(perOperation({ get: 40, evalsha: 20 }, 20), 'get 2.00, evalsha 1.00')
  t.equal(perOperation({}, 5), 'none')
  t.equal(percentile([5, 1, 4, 2, 3], 50), 3)
  t.equal(percentile([5, 1, 4, 2, 3], 99), 5)
})

t.test('the smallest registry run: a Cluster and one Redis each import, list, bootstrap, CONNECT and move', async t => {
  const lines: string[] = []
  const figures = await registry({ quick: false, runs: 1, rehoming: { dstNodes: 1, devices: 'client' }, devices: 400, selected: new Set(['registry']), log: line => { lines.push(line); t.comment(line) }, profileArgs: () => [] })
  const find = (prefix: string): Figure => {
    const f = figures.find(f => f.scenario.startsWith(prefix))
    if (f === undefined) throw new Error(`no figure "${prefix}" in ${figures.map(f => f.scenario).join('; ')}`)
    return f
  }
  const imported = find('registry: homing devices import of 400 devices')
  t.equal(imported.subject, 'Redis Cluster, 3 masters')
  t.same(imported.baselines.map(b => b.name), ['one Redis'])
  t.ok(imported.value > 0 && (imported.baselines[0]?.value ?? 0) > 0, 'both imports created devices')
  t.ok(find('registry: Redis memory per device').value > 0, 'the devices take memory on the masters')
  const smallPages = find('registry: page of 100 devices by instance at 200 devices').detail
  t.match(smallPages, /over 20 pages by (cursor|offset)/)
  t.notMatch(smallPages, /FAILED/, 'every page answered 200')
  t.match(find('registry: page of 100 devices by instance at 400 devices, p50').goal?.text, /<= 1\.5x/)
  const bootstrap = find('registry: Redis commands per bootstrap request')
  t.ok(bootstrap.value >= 1, 'a bootstrap reads the registry')
  t.match(bootstrap.detail, /statuses \{"200":\d+\}/, 'every bootstrap answered 200')
  t.notMatch(bootstrap.detail, /\binfo \d/, 'the bench\'s own INFO is not counted')
  const connect = find('registry: Redis commands per signed CONNECT')
  t.match(connect.detail, /200\/200 accepted/, 'every CONNECT accepted, on both')
  t.match(connect.detail, /get \d/, 'commands listed by name')
  t.ok(find('registry: Redis commands per page of 100 at 400 devices').value > 0)
  const job = find('registry: distribution job of 400 offline devices')
  t.ok(job.value > 0 && (job.baselines[0]?.value ?? 0) > 0, 'both jobs reached distributed')
  t.ok(lines.some(l => /Redis Cluster, 3 masters: imported 200 devices/.test(l)))
})
