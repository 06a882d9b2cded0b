// `npm run bench [-- options]`: which scenarios, at which size.
import { Command, InvalidArgumentError, Option } from 'commander'
import { DEVICE_MODES, type DeviceMode } from './loadtest/options.js'

export const SCENARIOS = ['connect', 'bootstrap', 'memory', 'rehoming', 'live', 'registry'] as const
export type ScenarioName = typeof SCENARIOS[number]

export interface BenchOptions {
  quick: boolean
  only: ScenarioName[]
  json?: string
  /** Directory for --cpu-prof profiles of the servers under test. */
  profile?: string
  /** The registry scenario's fleet size instead of its own (hidden: the test runs it small). */
  devices?: number
  /** connect: measure every server this many times, in a rotated order, and report medians. */
  runs: number
  /** Re-homing: broker processes of the destination instance (1 or 2). */
  rehomingDstNodes: number
  /** Re-homing: how the load generator simulates devices (see `homing loadtest --devices`). */
  rehomingDevices: DeviceMode
  /** Re-homing: the job's `rate` (notifies per second), or none (as fast as it can). */
  rehomingRate?: number
  /** Re-homing: each destination broker node capped at this share of a core (bench/cpu-cap.ts), or none. */
  rehomingDstCpu?: number
}

function parseRuns (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new InvalidArgumentError('--runs takes 1-9')
  return n
}

export function parseScenarioList (value: string): ScenarioName[] {
  const names = value.split(',').map(s => s.trim()).filter(s => s !== '')
  for (const n of names) {
    if (!(SCENARIOS as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown scenario "${n}" (scenarios: ${SCENARIOS.join(', ')})`)
  }
  if (names.length === 0) throw new InvalidArgumentError(`name at least one scenario (${SCENARIOS.join(', ')})`)
  return names as ScenarioName[]
}

function devicesOption (value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 4) throw new InvalidArgumentError('a whole number, 4 or more')
  return Number(value)
}

function coreShare (value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0.05 || n > 2) throw new InvalidArgumentError(`expected a share of a core between 0.05 and 2, got "${value}"`)
  return n
}

function rate (value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number of notifies per second, got "${value}"`)
  return Number(value)
}

export function benchCommand (): Command {
  return new Command('bench')
    .description('Homing benchmarks, each beside a baseline measured in the same run (see BENCHMARKS.md)')
    .option('--quick', 'small sizes, under 2 minutes in all; the 50,000-connection scenario is left out', false)
    .option('--only <list>', `comma-separated scenarios (${SCENARIOS.join(', ')}; registry runs only when named)`, parseScenarioList)
    .option('--json <file>', 'write every figure as JSON')
    .option('--profile <dir>', 'run the servers under test with node --cpu-prof, profiles into this directory')
    .addOption(new Option('--devices <n>', 'registry scenario: devices imported in all').argParser(devicesOption).hideHelp())
    .option('--runs <n>', 'connect: measure each server n times, rotating their order, and report the medians', parseRuns, 1)
    .addOption(new Option('--rehoming-dst-nodes <n>', 're-homing: broker processes of the destination instance').choices(['1', '2']).default('1'))
    .option('--rehoming-rate <per-second>', 're-homing: the job\'s rate option (notifies per second; default none: as fast as it can)', rate)
    .option('--rehoming-dst-cpu <cores>', 're-homing: cap each destination broker node at this share of a core (a cgroup each; needs root), so that the destination limits the run', coreShare)
    .addOption(new Option('--rehoming-devices <mode>', 're-homing: simulated devices, mqtt.js DeviceClients or light raw-socket devices').choices([...DEVICE_MODES]).default('client'))
    .exitOverride()
}

/** Parses argv (without node and the script); throws commander's error on bad options. */
export function parseBenchArgs (argv: string[]): BenchOptions {
  const cmd = benchCommand()
  cmd.parse(argv, { from: 'user' })
  const o = cmd.opts<{ quick: boolean, only?: ScenarioName[], json?: string, profile?: string, devices?: number, runs: number, rehomingDstNodes: string, rehomingDevices: DeviceMode, rehomingRate?: number, rehomingDstCpu?: number }>()
  // The registry scenario imports a million devices twice (most of an hour here): it runs when named.
  const only = o.only ?? SCENARIOS.filter(s => s !== 'registry' && !(o.quick && s === 'live'))
  return {
    quick: o.quick,
    only,
    runs: o.runs,
    ...(o.json !== undefined ? { json: o.json } : {}),
    ...(o.profile !== undefined ? { profile: o.profile } : {}),
    ...(o.devices !== undefined ? { devices: o.devices } : {}),
    rehomingDstNodes: Number(o.rehomingDstNodes),
    rehomingDevices: o.rehomingDevices,
    ...(o.rehomingRate !== undefined ? { rehomingRate: o.rehomingRate } : {}),
    ...(o.rehomingDstCpu !== undefined ? { rehomingDstCpu: o.rehomingDstCpu } : {})
  }
}
