// The records a node writes for the devices it kicked (docs/distribution.md, "Rule 6"), a batch per
// job: kicks that end within a few milliseconds of each other share one registry write (one HSET of
// many fields) instead of one write each. A write that fails while the registry is down waits for
// it (registry.ts), as a single record's write did.
import type { JobRecord } from '../shared/types.js'
import type { HomingContext } from './context.js'
import { whenAvailable } from './registry.js'

/** How long a record waits for others to share its write. */
const FLUSH_MS = 20
/** Records of one job written at once at most. */
const MAX_BATCH = 500

interface Pending {
  records: JobRecord[]
  settle: Array<(err: Error | null) => void>
}

export class RecordWriter {
  private readonly pending = new Map<string, Pending>()
  private timer: NodeJS.Timeout | null = null

  constructor (private readonly ctx: HomingContext) {}

  /** Resolves once the record is written with its batch. */
  put (jobId: string, record: JobRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      let batch = this.pending.get(jobId)
      if (batch === undefined) {
        batch = { records: [], settle: [] }
        this.pending.set(jobId, batch)
      }
      batch.records.push(record)
      batch.settle.push(err => err === null ? resolve() : reject(err))
      if (batch.records.length >= MAX_BATCH) this.write(jobId)
      else this.timer ??= setTimeout(() => this.writeAll(), FLUSH_MS)
    })
  }

  private writeAll (): void {
    this.timer = null
    for (const jobId of [...this.pending.keys()]) this.write(jobId)
  }

  private write (jobId: string): void {
    const batch = this.pending.get(jobId)
    if (batch === undefined) return
    this.pending.delete(jobId)
    whenAvailable(this.ctx, () => this.ctx.store.putRecords(jobId, batch.records)).then(
      () => { for (const settle of batch.settle) settle(null) },
      (err: unknown) => { for (const settle of batch.settle) settle(err as Error) }
    )
  }
}
