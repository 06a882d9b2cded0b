// The benchmark's options, its figures and goals, and how they are printed (no timings measured here).
import t from 'tap'
import { parseBenchArgs, SCENARIOS } from '../bench/options.js'
import { formatFigure, markdownTable, ratio, type Figure } from '../bench/report.js'
import { bootstrapFigures, connectFigures, HOMING, KOA, liveFigures, NODE_HTTP, rehomeFigures, type HttpRun } from '../bench/figures.js'
import { Recorder, summarize, type Summary } from '../bench/loadtest/stats.js'

t.test('--quick runs every scenario but the 50,000-connection one; --only picks; unknown names are refused', async t => {
  t.same(parseBenchArgs([]).only, [...SCENARIOS])
  t.same(parseBenchArgs(['--quick']), { quick: true, only: ['connect', 'bootstrap', 'memory', 'rehoming'], rehomingDstNodes: 1, rehomingDevices: 'client' })
  t.same(parseBenchArgs(['--quick', '--only', 'live,connect']).only, ['live', 'connect'])
  t.equal(parseBenchArgs(['--json', 'out.json']).json, 'out.json')
  t.throws(() => parseBenchArgs(['--only', 'connect,warp']), /unknown scenario "warp"/)
  t.throws(() => parseBenchArgs(['--fast']), /unknown option/)
})

t.test('re-homing takes a 1- or 2-node destination and client or light devices; other values are refused', async t => {
  const o = parseBenchArgs(['--only', 'rehoming', '--rehoming-dst-nodes', '2', '--rehoming-devices', 'light'])
  t.equal(o.rehomingDstNodes, 2)
  t.equal(o.rehomingDevices, 'light')
  t.throws(() => parseBenchArgs(['--rehoming-dst-nodes', '3']), /Allowed choices are 1, 2/)
  t.throws(() => parseBenchArgs(['--rehoming-devices', 'heavy']), /Allowed choices are client, light/)
})

t.test('ratio is value over baseline, and absent without a usable baseline', async t => {
  t.equal(ratio(90, 100), 0.9)
  t.equal(ratio(1, 0), null)
  t.equal(ratio(1, undefined), null)
})

const figure: Figure = {
  scenario: 'signed CONNECT rate',
  subject: 'Homing',
  value: 900,
  unit: 'CONNECT/s',
  baselines: [{ name: 'bare Aedes', value: 1000 }, { name: 'Mosquitto', value: 4500 }],
  goal: { text: '>= 90% of bare Aedes', met: true },
  detail: 'accepted 10/10'
}

t.test('a figure prints beside each baseline with its ratio and the goal', async t => {
  t.equal(formatFigure(figure), 'Homing: 900 CONNECT/s | bare Aedes: 1,000 CONNECT/s (ratio 90%) | Mosquitto: 4,500 CONNECT/s (ratio 20%) | goal >= 90% of bare Aedes: met\n    accepted 10/10')
  t.match(formatFigure({ ...figure, goal: { text: 'g', met: false } }), /goal g: MISSED/)
  const table = markdownTable([figure])
  t.match(table, /^\| scenario \| figure \| baseline \(same run\) \| ratio \| goal \| met \|/)
  t.match(table, /\| signed CONNECT rate \| Homing: 900 CONNECT\/s \| bare Aedes 1,000 CONNECT\/s; Mosquitto 4,500 CONNECT\/s \| 90%; 20% \| >= 90% of bare Aedes \| yes \|/)
})

const flood = (rate: number, accepted = 10, attempted = 10) => ({ rate, accepted, attempted })

t.test('CONNECT rate goal: >= 90% of bare Aedes with every CONNECT accepted; memory goal: <= 20 KiB', async t => {
  const runs = [
    { name: 'Homing', flood: flood(900), perConnection: 20 * 1024 },
    { name: 'bare Aedes', flood: flood(1000), perConnection: 10 * 1024 },
    { name: 'Mosquitto', flood: flood(5000), perConnection: null }
  ]
  const [connect, memory] = connectFigures(runs, new Set(['connect', 'memory']))
  t.equal(connect?.goal?.met, true)
  t.same(connect?.baselines.map(b => b.name), ['bare Aedes', 'Mosquitto'])
  t.equal(memory?.value, 20)
  t.equal(memory?.goal?.met, true)
  t.equal(connectFigures([{ ...runs[0]!, flood: flood(899) }, runs[1]!], new Set(['connect']))[0]?.goal?.met, false, '89.9% misses')
  t.equal(connectFigures([{ ...runs[0]!, flood: flood(950, 9, 10) }, runs[1]!], new Set(['connect']))[0]?.goal?.met, false, 'a refused CONNECT misses')
  t.equal(connectFigures([{ ...runs[0]!, perConnection: 21 * 1024 }, runs[1]!], new Set(['memory']))[0]?.goal?.met, false)
  t.same(connectFigures(runs, new Set(['memory'])).map(f => f.scenario), ['broker memory per idle connection'], 'only what was selected')
  const withCpu = connectFigures([{ ...runs[0]!, cpuPerConnect: 2000 }, { ...runs[1]!, cpuPerConnect: 1000 }, { ...runs[2]!, cpuPerConnect: 100 }], new Set(['connect']))
  const cpu = withCpu.find(f => f.scenario.startsWith('server CPU time per CONNECT'))
  t.equal(cpu?.value, 2000)
  t.same(cpu?.baselines.map(b => b.value), [1000, 100])
})

const run = (server: string, mode: HttpRun['mode'], rate: number, statuses: Record<string, number> = { 200: 100 }): HttpRun =>
  ({ server, mode, result: { rate, requests: Object.values(statuses).reduce((a, b) => a + b, 0), statuses, errors: {}, latency: '', serverClosed: 0 } })

t.test('bootstrap goal: >= 50% of node:http and >= 85% of Koa with a new connection per request, all answered 200', async t => {
  const runs = [run(HOMING, 'new-connection', 500), run(NODE_HTTP, 'new-connection', 1000), run(KOA, 'new-connection', 580), run(HOMING, 'keep-alive', 800), run(NODE_HTTP, 'keep-alive', 8000)]
  const [fresh, keep] = bootstrapFigures(runs).filter(f => !f.scenario.includes('diagnostic'))
  t.equal(fresh?.goal?.met, true)
  t.same(fresh?.baselines, [{ name: NODE_HTTP, value: 1000 }, { name: KOA, value: 580 }])
  t.equal(keep?.goal, undefined, 'no goal for keep-alive')
  t.same(keep?.baselines.map(b => b.name), [NODE_HTTP])
  t.equal(bootstrapFigures([run(HOMING, 'new-connection', 490), ...runs.slice(1)])[0]?.goal?.met, false, 'under 50% of node:http')
  const cpu = bootstrapFigures([{ ...run(HOMING, 'new-connection', 500), cpuPerRequest: 900 }, { ...run(KOA, 'new-connection', 580), cpuPerRequest: 300 }])
  t.same(cpu.map(f => f.scenario), ['bootstrap requests/s, a new TCP connection per request', 'server CPU time per bootstrap request, new-connection (diagnostic)'])
  t.same(cpu[1]?.baselines, [{ name: KOA, value: 300 }])
  t.equal(cpu[1]?.goal, undefined)
  t.equal(bootstrapFigures([run(HOMING, 'new-connection', 600, { 200: 90, 503: 10 }), ...runs.slice(1)])[0]?.goal?.met, false, 'errors miss the goal')
})

function summary (over: Partial<Summary>): Summary {
  return { ...summarize({ devices: 1, workers: 1, sources: [], startedAt: 0, endedAt: 0, reports: [new Recorder().report(true)] }), ...over }
}

t.test('re-homing goal: everything at the destination within 15 s, none lost', async t => {
  const ok = rehomeFigures({ devices: 10_000, rehomed: 10_000, allConnectedMs: 14_000, jobMs: 2000, summary: summary({}) })[0]
  t.equal(ok?.value, 14)
  t.equal(ok?.goal?.met, true)
  t.equal(rehomeFigures({ devices: 10_000, rehomed: 9_999, allConnectedMs: null, jobMs: 2000, summary: summary({}) })[0]?.goal?.met, false)
  t.match(rehomeFigures({ devices: 10_000, rehomed: 9_999, allConnectedMs: null, jobMs: null, summary: summary({}) })[0]?.detail ?? '', /lost 1;/)
  t.equal(rehomeFigures({ devices: 10_000, rehomed: 10_000, allConnectedMs: 15_001, jobMs: 2000, summary: summary({}) })[0]?.goal?.met, false)
  t.equal(rehomeFigures({ devices: 300, rehomed: 300, allConnectedMs: 1000, jobMs: 500, summary: summary({}) })[0]?.goal, undefined, 'a quick run gets no verdict')
  const parts = rehomeFigures({ devices: 10_000, rehomed: 10_000, allConnectedMs: 14_000, jobMs: 2000, summary: summary({}), dstNodes: 2, mode: 'light', cpuUs: { sidecar: 3_000_000, source: 5_000_000 } })[0]
  t.match(parts?.scenario ?? '', /2-node destination, light devices/)
  t.match(parts?.detail ?? '', /CPU per moved device sidecar 300 µs, source 500 µs$/)
})

t.test('live connections goal: 50,000 held after 60 s, none dropped', async t => {
  const o = { target: 50_000, nodes: 4, holdS: 60, connectedAtHold: 50_000 }
  t.equal(liveFigures({ ...o, summary: summary({ online: 50_000, connected: 50_000 }) })[0]?.goal?.met, true)
  t.equal(liveFigures({ ...o, summary: summary({ online: 50_000, dropped: 1 }) })[0]?.goal?.met, false)
  t.equal(liveFigures({ ...o, summary: summary({ online: 49_999 }) })[0]?.goal?.met, false)
  t.equal(liveFigures({ ...o, holdS: 10, target: 5000, summary: summary({ online: 5000 }) })[0]?.goal, undefined, 'a quick run gets no verdict')
})
