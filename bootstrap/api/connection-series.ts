// Connections over time of one instance (docs/operations.md, "Connections over time"): the nodes'
// samples summed per time step. At each step a node counts with its latest sample if that sample is
// recent (within `holdMs`); a node that stopped reporting counts as gone, not as its last value.
import type { NodeConnections } from '../../shared/store/store.js'

export interface SeriesPoint {
  at: number
  /** Null when no node had a recent sample at that time (no data, as before the first sample). */
  connections: number | null
}

export interface SeriesWindow {
  from: number
  to: number
  stepMs: number
  holdMs: number
}

/** At most this many points per answer; the step grows with the window. */
export const MAX_POINTS = 360

/** The step for a window: the sample interval, or coarser so that the answer has at most MAX_POINTS points (whole seconds). */
export function stepFor (windowMs: number, sampleMs: number): number {
  return Math.max(sampleMs, Math.ceil(windowMs / MAX_POINTS / 1000) * 1000)
}

/** Points at whole multiples of the step within [from, to], so that the answers of repeated calls line up. */
export function connectionSeries (nodes: NodeConnections[], window: SeriesWindow): SeriesPoint[] {
  const { from, to, stepMs, holdMs } = window
  const cursors = nodes.map(() => -1)
  const points: SeriesPoint[] = []
  for (let at = Math.ceil(from / stepMs) * stepMs; at <= to; at += stepMs) {
    let sum: number | null = null
    nodes.forEach((node, i) => {
      // Samples are oldest first: move this node's cursor to its latest sample at or before `at`.
      let c = cursors[i] as number
      while (c + 1 < node.samples.length && (node.samples[c + 1]?.at ?? Infinity) <= at) c++
      cursors[i] = c
      const sample = node.samples[c]
      if (sample !== undefined && at - sample.at < holdMs) sum = (sum ?? 0) + sample.connections
    })
    points.push({ at, connections: sum })
  }
  return points
}
