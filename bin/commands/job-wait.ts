// A distribution job as operator commands show it, and `distribute --wait`: polls the job until it
// ends, drawing a progress bar on stderr when that is a terminal, and gives up after --timeout.
import { setTimeout as sleep } from 'node:timers/promises'
import { callApi, OperatorError, type ApiTarget } from './api-client.js'
import { printAnswer, printOne, type Column, type OutputFormat } from './output.js'

export interface JobView {
  id: string
  status: string
  method: string
  policy: string
  sourceInstanceId: string
  targetInstanceId: string | null
  targetAccount: string | null
  productKey: string
  counts: { total: number, succeeded: number, failed: number, pending: number }
  error: string | null
  createdAt: number
  updatedAt: number
}

/** A timeout of --wait: exit code 4, the job goes on. */
export class WaitTimeout extends OperatorError {
  override exitCode = 4
}

export const JOB_COLUMNS: readonly Column<JobView>[] = [
  { header: 'id', value: j => j.id },
  { header: 'status', value: j => j.status },
  { header: 'product', value: j => j.productKey },
  { header: 'source', value: j => j.sourceInstanceId },
  { header: 'target', value: j => j.targetInstanceId ?? (j.policy === 'nearest' ? 'nearest' : null) },
  { header: 'account', value: j => j.targetAccount },
  { header: 'total', value: j => j.counts.total },
  { header: 'succeeded', value: j => j.counts.succeeded },
  { header: 'failed', value: j => j.counts.failed },
  { header: 'pending', value: j => j.counts.pending },
  { header: 'created', value: j => j.createdAt, time: true },
  { header: 'updated', value: j => j.updatedAt, time: true }
]

const DETAIL: readonly Column<JobView>[] = [...JOB_COLUMNS, { header: 'error', value: j => j.error }]

export function printJob (format: OutputFormat, job: JobView): void {
  if (format === 'json') printAnswer(format, job, j => [j], JOB_COLUMNS)
  else printOne(format, job, DETAIL)
}

export async function getJob (target: ApiTarget, id: string): Promise<JobView> {
  return JSON.parse((await callApi(target, 'GET', `/distribution/jobs/${encodeURIComponent(id)}`)).text) as JobView
}

const ended = (job: JobView): boolean => job.status === 'distributed' || job.status === 'failed'

/** `[#########-----------]  45/100  2 failed  distributing` */
export function progressLine (job: JobView, width = 30): string {
  const { total, succeeded, failed } = job.counts
  const done = succeeded + failed
  const filled = total === 0 ? (ended(job) ? width : 0) : Math.round(width * done / total)
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}${failed > 0 ? `  ${failed} failed` : ''}  ${job.status}`
}

/** Polls until the job ends; null timeout waits as long as it takes. */
export async function waitForJob (target: ApiTarget, id: string, timeoutMs: number | null): Promise<JobView> {
  const bar = process.stderr.isTTY === true
  const deadline = timeoutMs === null ? Infinity : Date.now() + timeoutMs
  let last = ''
  const draw = (job: JobView): void => {
    const line = progressLine(job)
    if (!bar || line === last) return
    last = line
    process.stderr.write(`\r\x1b[2K${job.id} ${line}`)
  }
  try {
    for (;;) {
      const job = await getJob(target, id)
      draw(job)
      if (ended(job)) return job
      if (Date.now() >= deadline) {
        throw new WaitTimeout(`job ${id} still ${job.status} after ${Math.round((timeoutMs ?? 0) / 1000)} s (${job.counts.succeeded + job.counts.failed}/${job.counts.total} done); ` +
          `it goes on: \`homing job show ${id}\` follows it`)
      }
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())))
    }
  } finally {
    if (bar && last !== '') process.stderr.write('\n')
  }
}
