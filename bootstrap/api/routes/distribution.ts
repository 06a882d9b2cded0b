// /distribution: jobs that move devices between instances, their records, and what went where
// (README.md, "Management API"; rules of distribution 1-9, 11).
import Router from '@koa/router'
import type { Context } from 'koa'
import { z } from 'zod'
import type { Job } from '../../../shared/types.js'
import { readBody } from '../../http/body.js'
import { nowOf } from '../../clock.js'
import type { ApiState, Sidecar } from '../../context.js'
import { notFound } from '../../http/http-error.js'
import { recordsInJobOrder } from '../../jobs/counts.js'
import { parseDeviceList, recordsCsv, TEMPLATE_CSV } from '../../jobs/csv.js'
import { distributedDevices, distributedProducts } from '../../jobs/distributed.js'
import { planJob } from '../../jobs/plan.js'
import { previewJob } from '../../jobs/preview.js'
import { retryJob } from '../../jobs/retry.js'
import { type Settling } from '../../jobs/settle.js'
import { SettlingCache } from '../../jobs/settle-cache.js'
import { wakeJobRunners } from '../../jobs/runner.js'
import { formFields, isMultipart, readUpload } from '../../jobs/upload.js'
import { parseQuery } from '../../http/validate.js'
import { pagingQuery, pageWindow } from '../paging.js'
import { cursorQuery, encodeCursor } from '../cursor.js'

const CSV_TYPE = 'text/csv; charset=utf-8'

/** The distribution listings' page when the query names no size. */
const DEFAULT_LIMIT = 20

const jobListQuery = z.strictObject({
  status: z.enum(['initializing', 'distributing', 'distributed', 'failed']).optional(),
  productKey: z.string().min(1).optional(),
  ...pagingQuery
})

/** `?dryRun=true`: a preview that stores nothing (jobs/preview.ts). */
export const createJobQuery = z.strictObject({ dryRun: z.enum(['true', 'false']).optional() })

const distributedQuery = z.strictObject({ productKey: z.string().min(1).max(64).optional(), ...pagingQuery })
/** /distribution/devices pages by `cursor` too (the `next` of the page before; `offset` is then not used). */
const distributedDevicesQuery = distributedQuery.extend({ cursor: cursorQuery.optional() })

/** A job as the API shows it: everything but the device list (the records hold it). */
function jobView (job: Job, settling: Settling): Record<string, unknown> {
  const counts = { total: job.total, succeeded: job.succeeded, failed: job.failed, pending: job.total - job.succeeded - job.failed }
  return {
    id: job.id,
    status: job.status,
    method: job.method,
    policy: job.policy,
    sourceInstanceId: job.sourceInstanceId,
    targetInstanceId: job.targetInstanceId,
    // docs/distribution.md, "Rule 7": the nearest policy's one instance per region; rule 10: the destination account.
    targets: job.targets,
    targetAccount: job.targetAccountId,
    productKey: job.productKey,
    counts,
    pace: { rate: job.pace?.rate ?? null, waveSize: job.pace?.waveSize ?? null, wavePauseSeconds: job.pace?.wavePauseSeconds ?? 0 },
    // docs/distribution.md, "Rate, waves and settling".
    settling,
    error: job.error,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt
  }
}

export function distributionRoutes (sidecar: Sidecar): Router<ApiState> {
  const { store, topology, config } = sidecar
  const router = new Router<ApiState>({ prefix: '/distribution' })
  const settling = new SettlingCache()

  /** Another account's job is "not found" (an account sees only its own jobs). */
  async function ownJob (ctx: Context & { state: ApiState }): Promise<Job> {
    const id = ctx.params?.id ?? ''
    const job = await store.getJob(id)
    if (job === null || job.accountId !== ctx.state.account.id) throw notFound(`job "${id}"`)
    return job
  }

  router.get('/template.csv', ctx => {
    ctx.type = CSV_TYPE
    ctx.attachment('distribution-template.csv')
    ctx.body = TEMPLATE_CSV
  })

  // A JSON body, or multipart/form-data with the job's fields and a CSV file of devices. Validated as
  // a whole before anything is stored; 202 once the job is stored, the runner does the rest.
  router.post('/jobs', async ctx => {
    const dryRun = parseQuery(ctx, createJobQuery).dryRun === 'true'
    const limit = config.bootstrap.bodyLimit
    let raw: unknown
    if (isMultipart(ctx.get('Content-Type'))) {
      const { fields, csv } = await readUpload(ctx.req, config.limits.uploadBytes)
      const list = parseDeviceList(csv, fields.productKey)
      raw = { ...formFields(fields), productKey: list.productKey, deviceNames: list.deviceNames }
    } else {
      raw = await readBody(ctx, { limit, accept: ['json'] })
    }
    const job = await planJob(raw, { account: ctx.state.account, topology, store, now: nowOf(sidecar), dryRun })
    if (dryRun) {
      ctx.body = await previewJob(job, store, topology, config.bootstrap.defaultRegion)
      return
    }
    await store.createJob(job)
    wakeJobRunners()
    ctx.status = 202
    ctx.set('Location', `${ctx.path.replace(/\/$/, '')}/${job.id}`)
    ctx.body = { jobId: job.id, status: job.status }
  })

  router.get('/jobs', async ctx => {
    const q = parseQuery(ctx, jobListQuery)
    const { offset, limit } = pageWindow(q, DEFAULT_LIMIT)
    const { jobs, total } = await store.listJobs({ accountId: ctx.state.account.id, status: q.status, productKey: q.productKey, offset, limit })
    const now = nowOf(sidecar)
    const views = await Promise.all(jobs.map(async j => jobView(j, await settling.get(j, store, now))))
    ctx.body = { jobs: views, total, offset, limit }
  })

  // The stored counts: the runner sets them from the records after every batch (one batch behind at
  // most while it runs, exact once the job is distributed). The settling figures read the records and
  // the kicked devices (jobs/settle.ts): two registry rounds per job, shared by the reads of the same
  // job within a second (jobs/settle-cache.ts).
  router.get('/jobs/:id', async ctx => {
    const job = await ownJob(ctx)
    ctx.body = jobView(job, await settling.get(job, store, nowOf(sidecar)))
  })

  router.post('/jobs/:id/retry', async ctx => {
    const job = await retryJob(store, await ownJob(ctx), nowOf(sidecar))
    ctx.status = 202
    ctx.body = { jobId: job.id, status: job.status }
  })

  router.get('/jobs/:id/records', async ctx => {
    const job = await ownJob(ctx)
    const records = recordsInJobOrder(job, await store.getRecords(job.id))
    ctx.type = CSV_TYPE
    ctx.attachment(`${job.id}-records.csv`)
    ctx.body = recordsCsv(records)
  })

  router.get('/devices', async ctx => {
    const q = parseQuery(ctx, distributedDevicesQuery)
    const window = pageWindow(q, DEFAULT_LIMIT)
    const offset = q.cursor === undefined ? window.offset : 0
    const page = await distributedDevices(store, topology, ctx.state.account, { productKey: q.productKey, after: q.cursor, offset, limit: window.limit })
    ctx.body = { devices: page.devices, total: page.total, offset, limit: window.limit, next: page.next === null ? null : encodeCursor(page.next) }
  })

  router.get('/products', async ctx => {
    const q = parseQuery(ctx, distributedQuery)
    const { offset, limit } = pageWindow(q, DEFAULT_LIMIT)
    const all = await distributedProducts(store, topology, ctx.state.account, q.productKey)
    ctx.body = { products: all.slice(offset, offset + limit), total: all.length, offset, limit }
  })

  return router
}

export { distributedDevicesQuery, distributedQuery, jobListQuery }
