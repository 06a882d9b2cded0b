// Pages of a product's devices at one instance through the management API
// (`GET /api/v1/products/:pk/devices?instanceId=..&limit=..`), timed one at a time from random
// positions. With a registry that lists by index the answer carries `next`: positions are then
// cursors, collected by walking the listing once; without it (a listing that scans the product)
// positions are offsets drawn over `total`.
import { performance } from 'node:perf_hooks'

export type PagingMode = 'cursor' | 'offset'

export interface PageTarget {
  url: string
  token: string
  productKey: string
  instanceId: string
}

interface Answer {
  total?: number
  next?: string | null
  devices: unknown[]
}

export interface PageSample {
  mode: PagingMode
  /** Request -> whole answer read, ms, in the order measured (failed answers included). */
  ms: number[]
  /** Devices in the measured pages. */
  devices: number
  /** HTTP status -> pages. */
  statuses: Record<string, number>
}

/** One page: `cursor` or `offset` as given; `answer` is null unless the status is 200. */
export async function getPage (t: PageTarget, limit: number, at: { cursor?: string, offset?: number } = {}): Promise<{ status: number, answer: Answer | null, text: string }> {
  const q = new URLSearchParams({ instanceId: t.instanceId, limit: String(limit) })
  if (at.cursor !== undefined) q.set('cursor', at.cursor)
  if (at.offset !== undefined) q.set('offset', String(at.offset))
  const res = await fetch(`${t.url}/api/v1/products/${encodeURIComponent(t.productKey)}/devices?${q.toString()}`, { headers: { authorization: `Bearer ${t.token}` } })
  const text = await res.text()
  return { status: res.status, answer: res.status === 200 ? JSON.parse(text) as Answer : null, text }
}

async function okPage (t: PageTarget, limit: number, at: { cursor?: string } = {}): Promise<Answer> {
  const page = await getPage(t, limit, at)
  if (page.answer === null) throw new Error(`GET devices answered ${page.status}: ${page.text.slice(0, 200)}`)
  return page.answer
}

/** Whether the listing pages by cursor (its answer has `next`); a listing that fails is taken as a scan. */
export async function pagingMode (t: PageTarget): Promise<PagingMode> {
  const page = await getPage(t, 1)
  return page.answer !== null && 'next' in page.answer ? 'cursor' : 'offset'
}

/** Every `step`-th position of the listing as a cursor (undefined: the start), walking it once. */
export async function collectCursors (t: PageTarget, step: number, maxPages = 5000): Promise<(string | undefined)[]> {
  const positions: (string | undefined)[] = [undefined]
  let cursor: string | undefined
  for (let i = 0; i < maxPages; i++) {
    const page = await okPage(t, step, cursor === undefined ? {} : { cursor })
    if (page.next === undefined || page.next === null || page.next === '') break
    cursor = page.next
    positions.push(cursor)
  }
  return positions
}

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T

/**
 * `pages` pages of `limit` devices from random positions, one at a time. `cursors`: positions
 * already collected (cursor mode); `total`: devices at the instance (offset mode).
 */
export async function samplePages (t: PageTarget, o: { mode: PagingMode, pages: number, limit: number, total: number, cursors?: (string | undefined)[] }): Promise<PageSample> {
  const ms: number[] = []
  const statuses: Record<string, number> = {}
  let devices = 0
  for (let i = 0; i < o.pages; i++) {
    let at: { cursor?: string, offset?: number }
    if (o.mode === 'cursor') {
      const cursor = pick(o.cursors ?? [undefined])
      at = cursor === undefined ? {} : { cursor }
    } else at = { offset: Math.floor(Math.random() * Math.max(o.total - o.limit, 1)) }
    const t0 = performance.now()
    const page = await getPage(t, o.limit, at)
    ms.push(performance.now() - t0)
    statuses[page.status] = (statuses[page.status] ?? 0) + 1
    devices += page.answer?.devices.length ?? 0
  }
  return { mode: o.mode, ms, devices, statuses }
}

/** The p-th percentile (nearest rank) of `xs`. */
export function percentile (xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}
