// The address a device connects from: the socket's peer, or, only behind a trusted proxy, the
// first untrusted address of X-Forwarded-For (docs/configuration.md, bootstrap.trustProxy).
import { isIP } from 'node:net'
import { isPublicAddress, normalizeAddress } from './geo.js'

/**
 * With `trustProxy`, the proxies (private or loopback hops) append to X-Forwarded-For; reading from
 * the right, the first address that is not such a hop is the client. Anything to its left was sent
 * by the client itself and is never believed. Without `trustProxy` the header is ignored.
 */
export function clientAddress (peer: string | undefined, forwardedFor: string | string[] | undefined, trustProxy: boolean): string | null {
  const socket = peer === undefined ? null : normalizeAddress(peer)
  if (!trustProxy || forwardedFor === undefined) return socket
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',').map(h => normalizeAddress(h.trim())).filter(h => isIP(h) !== 0)
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string
    if (isPublicAddress(hop)) return hop
  }
  return hops[0] ?? socket
}
