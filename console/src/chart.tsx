// Online devices per instance over time, as a line chart. The API has no history of connections, so
// the console keeps its own: one sample each time it reads the fleet (every 15 s while the instances
// page is open), kept for this browser session's page only.
import type { Fleet } from './fleet'
import { countsByInstance } from './fleet'

export interface Sample { at: number, online: Record<string, number> }

const MAX_SAMPLES = 240
const samples: Sample[] = []

/** Adds the fleet's online counts as a sample (once per read) and answers the samples so far. */
export function sample (fleet: Fleet, at: number): Sample[] {
  if (samples.at(-1)?.at !== at) {
    samples.push({ at, online: Object.fromEntries([...countsByInstance(fleet)].map(([id, c]) => [id, c.online])) })
    if (samples.length > MAX_SAMPLES) samples.shift()
  }
  return samples
}

const COLORS = ['#1f5fbf', '#1e7a43', '#b3261e', '#7a5bd0', '#9a6700', '#0b7285']

export function ConnectionsChart ({ instances, data }: { instances: string[], data: Sample[] }) {
  const W = 720
  const H = 200
  const pad = 30
  const max = Math.max(1, ...data.flatMap(s => Object.values(s.online)))
  const t0 = data[0]?.at ?? 0
  const t1 = Math.max(t0 + 1, data.at(-1)?.at ?? 1)
  const x = (at: number): number => pad + (at - t0) / (t1 - t0) * (W - 2 * pad)
  const y = (n: number): number => H - pad - n / max * (H - 2 * pad)
  return (
    <figure class='chart'>
      <svg viewBox={`0 0 ${W} ${H}`} role='img' aria-label='Online devices per instance over time'>
        <line class='axis' x1={pad} y1={H - pad} x2={W - pad} y2={H - pad} />
        <line class='axis' x1={pad} y1={pad} x2={pad} y2={H - pad} />
        <text x={pad - 6} y={y(max) + 4} text-anchor='end'>{max}</text>
        <text x={pad - 6} y={H - pad + 4} text-anchor='end'>0</text>
        {instances.map((id, i) => (
          <polyline
            key={id} fill='none' stroke={COLORS[i % COLORS.length]} stroke-width='2'
            points={data.map(s => `${x(s.at).toFixed(1)},${y(s.online[id] ?? 0).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
      <figcaption>
        {instances.map((id, i) => <span key={id} class='legend'><span class='swatch' style={{ background: COLORS[i % COLORS.length] }} />{id}</span>)}
        <span class='muted'> Online devices, sampled every 15 s while this page is open ({data.length} samples since {data.length === 0 ? '—' : new Date(t0).toLocaleTimeString()}).</span>
      </figcaption>
    </figure>
  )
}
