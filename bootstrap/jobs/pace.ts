// A job's pace (docs/distribution.md, "Rate, waves and settling"). The runner publishes move events
// slice by slice and the source instance's brokers notify as the events arrive, so pacing the events
// here caps the notifies across every broker node of that instance at once, with no coordination
// between the nodes. A slice holds at most a tenth of a second's worth of events, and the next slice's
// events wait until the previous slice's share of a second has passed: in no second does the source
// instance get more than `rate` events. Time alone is not enough: a broker node that falls behind
// (a busy CPU) and then catches up would notify a backlog at once. So the next slice also waits
// (bounded) until every broker node has finished the events before it. Waves: after `waveSize`
// devices (and once the broker nodes have finished the wave's events) the job pauses.
import { setTimeout as sleep } from 'node:timers/promises'
import type { JobPace } from '../../shared/types.js'

/** The longest single sleep of a wave pause: a runner that must let go notices within this. */
const PAUSE_STEP_MS = 250
/** How long a slice waits for the broker nodes to finish the events before it; then it goes anyway. */
const DRAIN_MAX_MS = 2000
const DRAIN_POLL_MS = 10

/**
 * Per broker node of the source instance: its events not finished yet. A node further behind than a
 * second's worth of events is taken for gone (a node removed from the instance keeps its place in the
 * log forever) and not waited for.
 */
export type Backlogs = () => Promise<number[]>

export class Pacer {
  private nextAt = 0
  private inWave = 0

  constructor (private readonly pace: JobPace | undefined, private readonly backlogs?: Backlogs, private readonly clock: () => number = Date.now) {}

  /** Whether the job has a rate or waves: its slices must then go one after the other. */
  get paced (): boolean {
    return (this.pace?.rate ?? null) !== null || (this.pace?.waveSize ?? null) !== null
  }

  /** How many devices the next slice may hold (at most `batchSize`). */
  sliceSize (batchSize: number): number {
    let size = batchSize
    const rate = this.pace?.rate ?? null
    if (rate !== null) size = Math.min(size, Math.max(1, Math.floor(rate / 10)))
    const wave = this.pace?.waveSize ?? null
    if (wave !== null) size = Math.min(size, wave - this.inWave)
    return Math.max(1, size)
  }

  /** Waits until `count` move events may go out under the rate, and books their share of a second. */
  async beforeEvents (count: number): Promise<void> {
    const rate = this.pace?.rate ?? null
    if (rate === null || count === 0) return
    const wait = this.nextAt - this.clock()
    if (wait > 0) await sleep(wait)
    await this.drained(rate)
    this.nextAt = this.clock() + Math.ceil(count * 1000 / rate)
  }

  /** Until no live broker node (`limit` events behind at most) has events left to finish, at most DRAIN_MAX_MS. */
  private async drained (limit: number): Promise<void> {
    if (this.backlogs === undefined) return
    const until = this.clock() + DRAIN_MAX_MS
    while (this.clock() < until) {
      const behind = (await this.backlogs()).filter(n => n > 0 && n <= limit)
      if (behind.length === 0) return
      await sleep(DRAIN_POLL_MS)
    }
  }

  /**
   * Counts a slice of `size` devices; at the end of a wave (and when devices remain) pauses. False when
   * the runner must let go during the pause (`stopped`): the job resumes later, its wave count afresh.
   */
  async afterSlice (size: number, more: boolean, stopped: () => boolean): Promise<boolean> {
    const wave = this.pace?.waveSize ?? null
    if (wave === null) return true
    this.inWave += size
    if (this.inWave < wave) return true
    this.inWave = 0
    if (!more) return true
    // The pause runs from when the wave's notifies went out, not from when its events were published.
    await this.drained(wave)
    const until = this.clock() + (this.pace?.wavePauseSeconds ?? 0) * 1000
    for (let left = until - this.clock(); left > 0; left = until - this.clock()) {
      if (stopped()) return false
      await sleep(Math.min(PAUSE_STEP_MS, left))
    }
    return !stopped()
  }
}
