// A job body field that belongs to another method or policy is refused, not silently ignored.
import { badRequest } from '../http/http-error.js'
import type { JobRequest } from './plan.js'

export function refuseFields (request: JobRequest, fields: (keyof JobRequest)[], why: string): void {
  for (const field of fields) {
    if (request[field] !== undefined) throw badRequest(`${field} ${why}`, field)
  }
}
