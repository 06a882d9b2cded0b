// Paging of every listing of the management API (README.md, "Management API"): `offset` (from 0)
// and `limit` (1-1000), and every answer says `total`, `offset` and `limit`. `page` (from 1) and
// `pageSize` are accepted as aliases, so that clients written for page/pageSize keep working:
// `pageSize` stands for `limit`, `page` for `offset = (page - 1) * limit`; `offset` and `limit` win
// when both spellings are given.
import { z } from 'zod'

export const MAX_PAGE = 1000

/** The query fields of a listing; spread them into the listing's schema. */
export const pagingQuery = {
  offset: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional(),
  page: z.coerce.number().int().min(1).optional(),
  pageSize: z.coerce.number().int().min(1).max(MAX_PAGE).optional()
}

export interface PagingQuery {
  offset?: number
  limit?: number
  page?: number
  pageSize?: number
}

export interface Window {
  offset: number
  limit: number
}

/** The window a query asks for; `defaultLimit` when it names no size. */
export function pageWindow (q: PagingQuery, defaultLimit: number): Window {
  const limit = q.limit ?? q.pageSize ?? defaultLimit
  const offset = q.offset ?? ((q.page ?? 1) - 1) * limit
  return { offset, limit }
}
