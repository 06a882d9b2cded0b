// `npm run bench` (full) and `npm run bench -- --quick`: every scenario beside its baseline from the
// same run. Servers under test and load generators each run in their own processes.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { CommanderError } from 'commander'
import { parseBenchArgs, type BenchOptions, type ScenarioName } from './options.js'
import { formatFigure, markdownTable, type Figure } from './report.js'
import type { Scenario, ScenarioContext } from './scenario.js'
import { brokerConnect } from './scenarios/broker-connect.js'
import { bootstrapRate } from './scenarios/bootstrap-rate.js'
import { rehoming } from './scenarios/rehoming.js'
import { liveConnections } from './scenarios/live-connections.js'
import { registry } from './scenarios/registry.js'

/** Scenario modules in run order, with the scenario names each one answers. */
const MODULES: { names: ScenarioName[], title: string, run: Scenario }[] = [
  { names: ['connect', 'memory'], title: 'broker: signed CONNECT rate and memory per idle connection', run: brokerConnect },
  { names: ['bootstrap'], title: 'bootstrap requests/s', run: bootstrapRate },
  { names: ['rehoming'], title: 're-homing online devices with one job', run: rehoming },
  { names: ['live'], title: 'live signed connections across broker processes', run: liveConnections },
  { names: ['registry'], title: 'the registry at fleet scale on a Redis Cluster', run: registry }
]

async function main (o: BenchOptions): Promise<number> {
  const selected = new Set(o.only)
  const log = (line: string): void => { process.stdout.write(line + '\n') }
  if (o.profile !== undefined) mkdirSync(o.profile, { recursive: true })
  const ctx: ScenarioContext = {
    quick: o.quick,
    runs: o.runs,
    ...(o.devices !== undefined ? { devices: o.devices } : {}),
    selected,
    log,
    // One directory per server: Node writes a profile per thread (tsx's loader thread included).
    profileArgs: label => o.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(resolve(o.profile), label)}`],
    rehoming: { dstNodes: o.rehomingDstNodes, devices: o.rehomingDevices, ...(o.rehomingRate !== undefined ? { rate: o.rehomingRate } : {}), ...(o.rehomingDstCpu !== undefined ? { dstCpu: o.rehomingDstCpu } : {}) }
  }
  const started = Date.now()
  const figures: Figure[] = []
  let failed = 0
  log(`homing bench (${o.quick ? 'quick' : 'full'}): ${o.only.join(', ')}; ${cpus().length} CPUs, Node ${process.version}`)
  for (const m of MODULES) {
    if (!m.names.some(n => selected.has(n))) continue
    // Other work on the machine skews every figure (baselines included): say how busy it was.
    log(`\n## ${m.title} (load average ${loadavg().map(l => l.toFixed(2)).join(' ')})`)
    const t0 = Date.now()
    try {
      const result = await m.run(ctx)
      for (const f of result) log(formatFigure(f))
      figures.push(...result)
    } catch (err) {
      failed++
      log(`  FAILED: ${(err as Error).stack ?? String(err)}`)
    }
    log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
  }
  log(`\n${markdownTable(figures)}\n\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (o.json !== undefined) writeFileSync(o.json, JSON.stringify({ quick: o.quick, at: new Date().toISOString(), figures }, null, 2) + '\n')
  if (o.profile !== undefined) log(`CPU profiles in ${join(resolve(o.profile))}`)
  return failed
}

let options: BenchOptions
try {
  options = parseBenchArgs(process.argv.slice(2))
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode)
  throw err
}
process.exitCode = await main(options) > 0 ? 1 : 0
