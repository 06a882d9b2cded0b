// A benchmark figure beside its baseline(s) from the same run, the ratio, and the goal.

export interface Baseline {
  name: string
  value: number
}

export interface Figure {
  scenario: string
  /** What was measured, e.g. "Homing broker, Redis registry". */
  subject: string
  value: number
  unit: string
  baselines: Baseline[]
  /** The goal from issue 6 and whether this run met it (absent: no goal for this line). */
  goal?: { text: string, met: boolean }
  /** Extra detail: latencies, failures, counts. */
  detail?: string
}

/** value / baseline, or null without a usable baseline. */
export function ratio (value: number, baseline: number | undefined): number | null {
  if (baseline === undefined || !Number.isFinite(baseline) || baseline === 0) return null
  return value / baseline
}

const num = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US')
  if (Math.abs(x) >= 10) return x.toFixed(1)
  return x.toFixed(2)
}

export const pct = (r: number | null): string => r === null ? '-' : `${(r * 100).toFixed(0)}%`

/** One line per figure: `subject: value unit | baseline: value (ratio) | goal: ... met/MISSED`. */
export function formatFigure (f: Figure): string {
  const parts = [`${f.subject}: ${num(f.value)} ${f.unit}`]
  for (const b of f.baselines) parts.push(`${b.name}: ${num(b.value)} ${f.unit} (ratio ${pct(ratio(f.value, b.value))})`)
  if (f.goal !== undefined) parts.push(`goal ${f.goal.text}: ${f.goal.met ? 'met' : 'MISSED'}`)
  return parts.join(' | ') + (f.detail !== undefined ? `\n    ${f.detail}` : '')
}

/** A Markdown table of every figure, as BENCHMARKS.md shows them. */
export function markdownTable (figures: Figure[]): string {
  const rows = ['| scenario | figure | baseline (same run) | ratio | goal | met |', '| --- | --- | --- | --- | --- | --- |']
  for (const f of figures) {
    const base = f.baselines.map(b => `${b.name} ${num(b.value)} ${f.unit}`).join('; ') || '-'
    const ratios = f.baselines.map(b => pct(ratio(f.value, b.value))).join('; ') || '-'
    rows.push(`| ${f.scenario} | ${f.subject}: ${num(f.value)} ${f.unit} | ${base} | ${ratios} | ${f.goal?.text ?? '-'} | ${f.goal === undefined ? '-' : f.goal.met ? 'yes' : 'no'} |`)
  }
  return rows.join('\n')
}

/** One side of a rate comparison: its rate, and what it and the generator cost while it was measured. */
export interface RateSide {
  rate: number
  /** Server CPU per operation, µs (null: not measured). */
  cpuPerOp: number | null
  /** The server's CPU over the measurement, in cores (null: not measured). */
  serverCores: number | null
  /** The generator process's CPU over the measurement, in cores (null: not measured). */
  generatorCores: number | null
}

export interface RateVerdict {
  /** What the ratio compares: the rates, or (when the rates say nothing of the servers) the inverse CPU per operation. */
  basis: 'rate' | 'cpu' | 'none'
  /** subject / baseline rate, or baseline / subject CPU per operation: the rate ratio when both are CPU-bound. */
  ratio: number | null
  met: boolean
  /** Why this basis, for the report. */
  why: string
}

export interface RateLimits {
  /** A generator process above this (cores) may have been the limit. */
  maxGeneratorCores: number
  /** A server below this (cores) was not what limited its rate. */
  minServerCores: number
}

export const RATE_LIMITS: RateLimits = { maxGeneratorCores: 0.8, minServerCores: 0.5 }

/**
 * Pure: a rate ratio counts only when the rates measured the servers: the generator had headroom
 * and each server kept at least `minServerCores` busy. Otherwise the verdict is taken from CPU per
 * operation (what cores of their own would give), and `why` says so.
 */
export function rateVerdict (subject: RateSide, baseline: RateSide, goal: number, limits: RateLimits = RATE_LIMITS): RateVerdict {
  const problems: string[] = []
  for (const [side, label] of [[subject, 'subject'], [baseline, 'baseline']] as const) {
    if (side.generatorCores === null) problems.push(`generator CPU not measured (${label})`)
    else if (side.generatorCores >= limits.maxGeneratorCores) problems.push(`generator at ${pctOfCore(side.generatorCores)} of a core (${label})`)
    if (side.serverCores !== null && side.serverCores < limits.minServerCores) problems.push(`server at ${pctOfCore(side.serverCores)} of a core (${label})`)
  }
  if (problems.length === 0) {
    const r = ratio(subject.rate, baseline.rate)
    return { basis: 'rate', ratio: r, met: r !== null && r >= goal, why: 'generator had headroom and both servers were busy: rate ratio' }
  }
  const r = subject.cpuPerOp === null || baseline.cpuPerOp === null ? null : ratio(baseline.cpuPerOp, subject.cpuPerOp)
  if (r === null) return { basis: 'none', ratio: null, met: false, why: `rates not comparable (${problems.join('; ')}) and no CPU per operation` }
  return { basis: 'cpu', ratio: r, met: r >= goal, why: `rates not comparable (${problems.join('; ')}): verdict from CPU per operation` }
}

const pctOfCore = (cores: number): string => `${Math.round(cores * 100)}%`
