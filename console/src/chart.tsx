// Connections per instance over time, as a line chart, from the history the broker nodes keep in the
// registry (GET /instances/:id/connections; docs/operations.md, "Connections over time"). A step
// where no node of an instance reported is a gap in its line, not a zero.
import { useCallback, useState } from 'preact/hooks'
import { api, q } from './api'
import { useInterval, useLoad } from './hooks'
import { Status } from './ui'

export interface ConnectionHistory {
  instanceId: string
  minutes: number
  sampleSeconds: number
  stepSeconds: number
  points: { at: number, connections: number | null }[]
  nodes: { nodeId: string, lastSampleAt: number | null, connections: number | null, reporting: boolean }[]
}

const WINDOWS = [[15, '15 minutes'], [60, '1 hour'], [360, '6 hours'], [1440, '24 hours']] as const
const COLORS = ['#1f5fbf', '#1e7a43', '#b3261e', '#7a5bd0', '#9a6700', '#0b7285']
const REFRESH_MS = 15_000

async function loadHistories (instances: string[], minutes: number): Promise<ConnectionHistory[]> {
  return Promise.all(instances.map(id => api<ConnectionHistory>('GET', `/instances/${encodeURIComponent(id)}/connections${q({ minutes })}`)))
}

export function ConnectionsChart ({ instances }: { instances: string[] }) {
  const [minutes, setMinutes] = useState(60)
  const histories = useLoad(() => loadHistories(instances, minutes), [instances.join('\n'), minutes])
  const reload = useCallback(() => histories.reload(), [histories.reload])
  useInterval(reload, histories.loading ? null : REFRESH_MS)
  return (
    <>
      <label class='inline'>Window{' '}
        <select value={minutes} onChange={e => setMinutes(Number((e.target as HTMLSelectElement).value))}>
          {WINDOWS.map(([m, label]) => <option key={m} value={m}>{label}</option>)}
        </select>
      </label>
      <Status loaded={histories}>{data => <Chart histories={data} />}</Status>
    </>
  )
}

/** A line's points, cut where there is no data. */
function segments (points: ConnectionHistory['points']): { at: number, connections: number }[][] {
  const out: { at: number, connections: number }[][] = [[]]
  for (const p of points) {
    if (p.connections === null) { if ((out.at(-1) ?? []).length > 0) out.push([]) } else out.at(-1)?.push({ at: p.at, connections: p.connections })
  }
  return out.filter(s => s.length > 0)
}

/** A time on the axis: with seconds when the chart spans less than ten minutes. */
const time = (ms: number, spanMs = Infinity): string => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(spanMs < 600_000 ? { second: '2-digit' } : {}) })

function Chart ({ histories }: { histories: ConnectionHistory[] }) {
  const W = 720
  const H = 220
  const pad = { left: 40, right: 14, top: 14, bottom: 26 }
  const all = histories.flatMap(h => h.points)
  const max = Math.max(1, ...all.map(p => p.connections ?? 0))
  // From the first point with data (a history younger than the window would be a sliver at its end).
  const known = all.filter(p => p.connections !== null)
  const t0 = Math.min(...(known.length > 1 ? known : all).map(p => p.at))
  const t1 = Math.max(t0 + 1, ...all.map(p => p.at))
  const x = (at: number): number => pad.left + (at - t0) / (t1 - t0) * (W - pad.left - pad.right)
  const y = (n: number): number => H - pad.bottom - n / max * (H - pad.top - pad.bottom)
  const step = histories[0]?.stepSeconds ?? 0
  const sample = histories[0]?.sampleSeconds ?? 0
  return (
    <figure class='chart'>
      <svg viewBox={`0 0 ${W} ${H}`} role='img' aria-label='Connections per instance over time'>
        <line class='axis' x1={pad.left} y1={H - pad.bottom} x2={W - pad.right} y2={H - pad.bottom} />
        <line class='axis' x1={pad.left} y1={pad.top} x2={pad.left} y2={H - pad.bottom} />
        <line class='gridline' x1={pad.left} y1={y(max)} x2={W - pad.right} y2={y(max)} />
        <text x={pad.left - 6} y={y(max) + 4} text-anchor='end'>{max}</text>
        <text x={pad.left - 6} y={H - pad.bottom + 4} text-anchor='end'>0</text>
        {all.length > 0 && <text x={pad.left} y={H - 8} text-anchor='start'>{time(t0, t1 - t0)}</text>}
        {all.length > 0 && <text x={W - pad.right} y={H - 8} text-anchor='end'>{time(t1, t1 - t0)}</text>}
        {histories.map((h, i) => segments(h.points.filter(p => p.at >= t0)).map((seg, j) => (
          <polyline
            key={`${h.instanceId}-${j}`} class='series' data-instance={h.instanceId} fill='none' stroke={COLORS[i % COLORS.length]} stroke-width='2'
            points={seg.map(p => `${x(p.at).toFixed(1)},${y(p.connections).toFixed(1)}`).join(' ')}
          />
        )))}
      </svg>
      <figcaption>
        {histories.map((h, i) => {
          const latest = [...h.points].reverse().find(p => p.connections !== null)?.connections ?? null
          const reporting = h.nodes.filter(n => n.reporting).length
          return (
            <span key={h.instanceId} class='legend' data-legend={h.instanceId}>
              <span class='swatch' style={{ background: COLORS[i % COLORS.length] }} />
              {h.instanceId}: <strong>{latest ?? '—'}</strong> now, {reporting} {reporting === 1 ? 'node' : 'nodes'} reporting
            </span>
          )
        })}
        <span class='muted'> MQTT connections, as the broker nodes sample them every {sample} s (one point per {step} s; a gap: no node reported){known.length > 1 && t0 > (all[0]?.at ?? t0) ? `; history since ${time(t0)}` : ''}.</span>
      </figcaption>
    </figure>
  )
}
