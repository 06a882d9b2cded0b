// 429 with Retry-After, for a pair of accounts that must wait.
import { ApiError } from '../../http/http-error.js'

export function tooManyRequests (message: string, until: number, now: number, field?: string): ApiError {
  const seconds = Math.max(1, Math.ceil((until - now) / 1000))
  return new ApiError(429, 'too_many_requests', `${message}; retry in ${seconds} s`, field, { 'Retry-After': String(seconds) })
}
