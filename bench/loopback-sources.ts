// Loopback source addresses for a generator that opens (and closes) tens of thousands of
// connections. A socket given a local address is bound before it connects, and the kernel's search
// for a free port on that address grows steeply with the sockets already on it, TIME_WAIT ones
// included: on this machine a connect cost ~15 µs of system CPU with 3,000 sockets on the address
// and 400-900 µs with 6,000-12,000 (BENCHMARKS.md, "Re-homing"). Sockets left by the run before (or
// by another benchmark on 127.0.0.x) stay in TIME_WAIT for 60 s, so the addresses are picked
// afresh per run: the least used of a /24 no other scenario uses.
import { readFileSync } from 'node:fs'

/** Sockets per local IPv4 address, from /proc/net/tcp (empty where there is no such file). */
export function socketsByLocalAddress (table?: string): Map<string, number> {
  let text = table
  if (text === undefined) {
    try {
      text = readFileSync('/proc/net/tcp', 'utf8')
    } catch {
      return new Map()
    }
  }
  const counts = new Map<string, number>()
  for (const line of text.split('\n').slice(1)) {
    // "  12: 0100007F:1F90 ...": the address in network order written as a little-endian hex word.
    const hex = /^\s*\d+:\s+([0-9A-Fa-f]{8}):/.exec(line)?.[1]
    if (hex === undefined) continue
    const ip = [6, 4, 2, 0].map(i => parseInt(hex.slice(i, i + 2), 16)).join('.')
    counts.set(ip, (counts.get(ip) ?? 0) + 1)
  }
  return counts
}

/** `count` addresses of `prefix`.1-254 with the fewest sockets now (ties: lowest first). */
export function quietSources (count: number, prefix = '127.0.12.', table?: string): string[] {
  const used = socketsByLocalAddress(table)
  const all = Array.from({ length: 254 }, (_, i) => `${prefix}${i + 1}`)
  return all
    .map((ip, i) => ({ ip, i, n: used.get(ip) ?? 0 }))
    .sort((a, b) => a.n - b.n || a.i - b.i)
    .slice(0, count)
    .map(a => a.ip)
}
