// A bound on what a broker node holds for one device that does not read: every write to the
// connection is followed by a look at the bytes its stream still holds, and past the limit the
// connection is closed (its buffers go with it). Covers every packet Aedes writes (deliveries,
// acknowledgements, notify), on every transport. docs/operations.md, "Hardening".
import type { Duplex } from 'node:stream'

type Write = Duplex['write']

/** `over` is called once, before the stream is destroyed. */
export function limitOutgoing (stream: Duplex, maxBytes: number, over: () => void): void {
  const write = stream.write as (...args: unknown[]) => boolean
  let tripped = false
  const limited = function (this: Duplex, ...args: unknown[]): boolean {
    const ok = write.apply(stream, args)
    if (!ok && !tripped && stream.writableLength > maxBytes) {
      tripped = true
      over()
      stream.destroy()
    }
    return ok
  }
  stream.write = limited as Write
}
