// What every scenario is handed, and what it gives back.
import type { DeviceMode } from './loadtest/options.js'
import type { ScenarioName } from './options.js'
import type { Figure } from './report.js'

export interface ScenarioContext {
  quick: boolean
  /** The registry scenario's fleet size instead of its own (`--devices`). */
  devices?: number
  /** How many times a scenario that supports it measures each server (`--runs`). */
  runs: number
  selected: Set<ScenarioName>
  log: (line: string) => void
  /** Node flags for a server under test: --cpu-prof into the profile directory when asked. */
  profileArgs: (label: string) => string[]
  /** Re-homing: destination broker processes, the simulated devices' mode, the job's rate (none: as fast as it can), each destination node's CPU cap in cores (none: uncapped). */
  rehoming: { dstNodes: number, devices: DeviceMode, rate?: number, dstCpu?: number }
}

export type Scenario = (ctx: ScenarioContext) => Promise<Figure[]>

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
