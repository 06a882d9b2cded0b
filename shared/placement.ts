// Nearest access (docs/distribution.md, "Rule 7"): the target a waiting device is placed at on its first bootstrap.
import { locate, nearestRegion } from './geo.js'
import type { Candidate, Region } from './types.js'

export interface Choice {
  candidate: Candidate
  /** True when the address could not be located (private, loopback, unknown) and the fallback was used. */
  fallback: boolean
}

/**
 * The candidate whose region is nearest to `address`. Fallback: the candidate in `defaultRegion`
 * when one is configured and among the candidates, else the job's first target.
 */
export function choosePlacement (candidates: Candidate[], regions: Map<string, Region>, address: string | null, defaultRegion?: string): Choice {
  if (candidates.length === 0) throw new Error('no candidates to place a device among')
  const fallback = (): Choice => ({
    candidate: candidates.find(c => c.region === defaultRegion) ?? candidates[0] as Candidate,
    fallback: true
  })
  const point = address === null ? null : locate(address)
  if (point === null) return fallback()
  const located = candidates.flatMap(c => {
    const region = regions.get(c.region)
    return region ? [{ ...region, candidate: c }] : []
  })
  const nearest = nearestRegion(point, located)
  return nearest ? { candidate: nearest.candidate, fallback: false } : fallback()
}
