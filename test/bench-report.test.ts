// The benchmark's options, its figures and goals, and how they are printed (no timings measured here).
import t from 'tap'
import { parseBenchArgs, SCENARIOS } from '../bench/options.js'
import { formatFigure, markdownTable, rateVerdict, ratio, type Figure, type RateSide } from '../bench/report.js'
import { medianRun, rotated, SourceAddresses } from '../bench/scenarios/broker-connect.js'
import { bootstrapFigures, connectFigures, generatorHeadroom, HOMING, KOA, liveFigures, NODE_HTTP, rehomeFigures, type HttpRun } from '../bench/figures.js'
import { Recorder, summarize, type Summary } from '../bench/loadtest/stats.js'

t.test('--quick runs every scenario but the 50,000-connection one and the registry; --only picks; unknown names are refused', async t => {
  t.same(parseBenchArgs([]).only, SCENARIOS.filter(s => s !== 'registry'), 'the registry scenario runs only when named')
  t.same(parseBenchArgs(['--only', 'registry']).only, ['registry'])
  t.same(parseBenchArgs(['--quick']), { quick: true, only: ['connect', 'bootstrap', 'memory', 'rehoming'], runs: 1, rehomingDstNodes: 1, rehomingDevices: 'client' })
  t.equal(parseBenchArgs(['--runs', '3']).runs, 3)
  t.throws(() => parseBenchArgs(['--runs', '0']), /--runs takes 1-9/)
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

t.test('re-homing caps each destination node at a share of a core between 0.05 and 2, or not at all', async t => {
  t.equal(parseBenchArgs(['--rehoming-dst-cpu', '0.25']).rehomingDstCpu, 0.25)
  t.notOk('rehomingDstCpu' in parseBenchArgs(['--only', 'rehoming']))
  for (const bad of ['0', '0.01', '3', 'half', '']) t.throws(() => parseBenchArgs(['--rehoming-dst-cpu', bad]), /share of a core/, bad)
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
  const busy = { serverCores: 0.9, generatorCores: 0.3 }
  const runs = [
    { name: 'Homing', flood: flood(900), perConnection: 20 * 1024, ...busy },
    { name: 'bare Aedes', flood: flood(1000), perConnection: 10 * 1024, ...busy },
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
  t.same(cpu?.goal, { text: '<= 1.2x bare Aedes', met: false })
  t.equal(connectFigures([{ ...runs[0]!, cpuPerConnect: 1200 }, { ...runs[1]!, cpuPerConnect: 1000 }], new Set(['connect']))[1]?.goal?.met, true, '1.2x meets the CPU goal')
})

t.test('CONNECT rate goal when the generator was the limit: judged by CPU per CONNECT, and the figure says so', async t => {
  const homing = { name: 'Homing', flood: flood(1676), perConnection: null, cpuPerConnect: 683, serverCores: 0.9, generatorCores: 0.95 }
  const aedes = { name: 'bare Aedes', flood: flood(654), perConnection: null, cpuPerConnect: 409, serverCores: 0.3, generatorCores: 0.95 }
  const [rate] = connectFigures([homing, aedes], new Set(['connect']))
  t.equal(rate?.goal?.met, false, '256% by rate, but 60% by CPU per CONNECT')
  t.equal(rate?.goal?.text, '>= 90% of bare Aedes (by CPU per CONNECT: 60%)')
  t.match(rate?.detail, /generator at 95% of a core \(subject\).*verdict from CPU per operation/)
})

const sideOf = (rate: number, cpuPerOp: number | null, serverCores: number | null, generatorCores: number | null): RateSide => ({ rate, cpuPerOp, serverCores, generatorCores })

t.test('a rate ratio counts only when the generator had headroom and both servers were busy', async t => {
  t.same(rateVerdict(sideOf(950, 700, 0.9, 0.5), sideOf(1000, 500, 0.95, 0.6), 0.9), { basis: 'rate', ratio: 0.95, met: true, why: 'generator had headroom and both servers were busy: rate ratio' })
  t.equal(rateVerdict(sideOf(850, 700, 0.9, 0.5), sideOf(1000, 500, 0.95, 0.6), 0.9).met, false, '85% by rate misses')

  const saturated = rateVerdict(sideOf(1676, 683, 0.9, 0.5), sideOf(654, 409, 0.9, 0.8), 0.9)
  t.equal(saturated.basis, 'cpu', 'a generator at 80% of a core may have been the limit')
  t.equal(saturated.ratio, 409 / 683)
  t.equal(saturated.met, false)
  t.match(saturated.why, /generator at 80% of a core \(baseline\)/)

  const idle = rateVerdict(sideOf(1676, 683, 0.3, 0.2), sideOf(654, 409, 0.27, 0.2), 0.9)
  t.equal(idle.basis, 'cpu', 'servers at a third of a core were not what limited their rates')
  t.match(idle.why, /server at 30% of a core \(subject\); server at 27% of a core \(baseline\)/)
  t.equal(rateVerdict(sideOf(900, 450, 0.2, 0.2), sideOf(1000, 500, 0.2, 0.2), 0.9).met, true, 'by CPU: 500/450 >= 0.9')

  t.equal(rateVerdict(sideOf(900, 450, 0.9, null), sideOf(1000, 500, 0.9, 0.2), 0.9).basis, 'cpu', 'an unmeasured generator is not headroom')
  t.same(rateVerdict(sideOf(900, null, 0.9, null), sideOf(1000, 500, 0.9, 0.2), 0.9), { basis: 'none', ratio: null, met: false, why: 'rates not comparable (generator CPU not measured (subject)) and no CPU per operation' })
  t.equal(rateVerdict(sideOf(900, 450, 0.9, 0.5), sideOf(1000, 500, 0.9, 0.5), 0.9, { maxGeneratorCores: 0.4, minServerCores: 0.5 }).basis, 'cpu', 'the limits are parameters')
})

t.test('connect runs: fresh source addresses per measurement, rotated order, medians', async t => {
  const sources = new SourceAddresses()
  const taken = [sources.take(), sources.take(), sources.take()].flat()
  t.equal(new Set(taken).size, 6, 'never the same address twice')
  t.ok(taken.every(a => /^127\.0\.11\.\d+$/.test(a)))
  t.same([0, 1, 2, 3].map(r => rotated(['a', 'b', 'c'], r)), [['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b'], ['a', 'b', 'c']])
  const run = (rate: number, cpu: number, gen: number) => ({ name: 'x', flood: { rate, accepted: 10, attempted: 10 }, perConnection: null, cpuPerConnect: cpu, serverCores: 0.5, generatorCores: gen, redisPerConnect: 7, redisPerDisconnect: null })
  const m = medianRun([run(100, 900, 0.2), run(300, 500, 0.9), run(200, 700, 0.4)])
  t.equal(m.flood.rate, 200)
  t.equal(m.cpuPerConnect, 700)
  t.equal(m.generatorCores, 0.9, 'the generator: the highest share seen')
  t.equal(m.perConnection, null)
  t.equal(m.redisPerConnect, 7)
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
  const timed = rehomeFigures({ devices: 10_000, rehomed: 10_000, allConnectedMs: 14_000, jobMs: 2000, summary: summary({}), notifyMs: { first: 150, last: 2300 } })[0]
  t.match(timed?.detail ?? '', /notifies from 0\.15 to 2\.30 s;/)
})

t.test('re-homing: whether the generator had headroom, from its event loop and its CPU over the window', async t => {
  const detail = (busy: Array<number | null>, generatorUs: number): string => rehomeFigures({
    devices: 10_000, rehomed: 10_000, allConnectedMs: 14_000, jobMs: 2000, summary: summary({}), windowMs: 10_000, cpuUs: { generator: generatorUs }, generatorBusy: busy
  })[0]?.detail ?? ''
  t.match(detail([0.45], 4_000_000), /generator 1 worker, 0\.40 core, event loop busy 45%: headroom$/)
  t.match(detail([0.95], 9_000_000), /event loop busy 95%: NO headroom: the generator may have been the limit$/)
  t.match(detail([0.9, 0.5], 6_000_000), /generator 2 workers, 0\.30 core each, event loop busy 90% \/ 50%: no headroom, starved of CPU by the other parts$/)
  t.match(generatorHeadroom([null]), /event loop not measured$/)
})

t.test('live connections goal: 50,000 held after 60 s, none dropped', async t => {
  const o = { target: 50_000, nodes: 4, holdS: 60, connectedAtHold: 50_000 }
  t.equal(liveFigures({ ...o, summary: summary({ online: 50_000, connected: 50_000 }) })[0]?.goal?.met, true)
  t.equal(liveFigures({ ...o, summary: summary({ online: 50_000, dropped: 1 }) })[0]?.goal?.met, false)
  t.equal(liveFigures({ ...o, summary: summary({ online: 49_999 }) })[0]?.goal?.met, false)
  t.equal(liveFigures({ ...o, holdS: 10, target: 5000, summary: summary({ online: 5000 }) })[0]?.goal, undefined, 'a quick run gets no verdict')
})
