// The sidecar's time: Date.now, unless a test set `sidecar.clock` (codes expire, placements are dated).
import type { Sidecar } from './context.js'

export const nowOf = (sidecar: Pick<Sidecar, 'clock'>): number => (sidecar.clock ?? Date.now)()
