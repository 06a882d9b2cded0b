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
