// Repeated refusals summarised: the first of a key in a window is logged at once, the others are
// counted and logged as one line with the count when the window ends. A flood of bad CONNECTs
// costs one line per key per window, not one per CONNECT. docs/operations.md, "Hardening".
import type { Logger } from '../shared/log.js'

interface Tally {
  msg: string
  count: number
  fields: Record<string, unknown>
}

export interface LogSummary {
  /** One more occurrence of `key`, logged as `msg`; `fields` describe it (the latest are kept for the summary). */
  note: (key: string, msg: string, fields: Record<string, unknown>) => void
  /** Logs what is pending and stops the timer. */
  close: () => void
}

/** At most `maxKeys` keys are tallied per window; the rest are counted under one "others" line. */
export function logSummary (log: Logger, windowMs: number, maxKeys = 10_000): LogSummary {
  let tallies = new Map<string, Tally>()
  let others = 0
  const flush = (): void => {
    const done = tallies
    tallies = new Map()
    for (const [key, tally] of done) {
      // The first was logged when it happened.
      if (tally.count > 1) log.info({ ...tally.fields, key, repeated: tally.count - 1, windowMs }, `${tally.msg} (repeated)`)
    }
    if (others > 0) log.info({ repeated: others, windowMs }, 'refusals (repeated, other keys)')
    others = 0
  }
  const timer = setInterval(flush, windowMs)
  timer.unref()
  return {
    note: (key, msg, fields) => {
      const tally = tallies.get(key)
      if (tally !== undefined) {
        tally.count++
        tally.fields = fields
        return
      }
      if (tallies.size >= maxKeys) {
        others++
        return
      }
      tallies.set(key, { msg, count: 1, fields })
      log.info({ ...fields, key }, msg)
    },
    close: () => {
      clearInterval(timer)
      flush()
    }
  }
}
