// Which request paths belong to the management API: one rule, by which the sidecar's app hands a
// request to the API face (bootstrap/app.ts), whose first step is the bearer token (auth.ts), so
// that no spelling of a path reaches a handler unauthenticated.
// The rule is wider than the router: every spelling the router takes (it ignores letter case and a
// trailing slash) and every other that reads as an API path (doubled slashes, percent-encoding, dot
// segments) needs the token; with it, a spelling the router does not take is a 404.
import { posix } from 'node:path'

export const API_PREFIX = '/api/v1'

/** Decodes at most this many layers of percent-encoding (`%2561` -> `%61` -> `a`). */
const DECODE_ROUNDS = 3

/** Whether the raw request path (ctx.path, not decoded) is under the management API, however spelled. */
export function isApiPath (rawPath: string): boolean {
  // The hot path (a device bootstrap) pays one comparison.
  if (rawPath === '/auth/bootstrap') return false
  const canonical = canonicalPath(rawPath)
  return canonical === '/api' || canonical.startsWith('/api/')
}

/** Lower case, percent-decoded, slashes collapsed, dot segments resolved. */
export function canonicalPath (rawPath: string): string {
  let path = rawPath
  for (let i = 0; i < DECODE_ROUNDS && path.includes('%'); i++) {
    try {
      path = decodeURIComponent(path)
    } catch {
      break
    }
  }
  return posix.normalize(`/${path.replace(/\\/g, '/')}`).toLowerCase()
}
