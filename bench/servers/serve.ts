// The IPC side of a server under test: it starts in its own process, says where it listens, answers
// "measure" (RSS after a full GC) and stops on "stop".

export interface Served {
  ports: Record<string, number>
  close: () => Promise<void>
}

export type ServerMessage =
  | { type: 'ready', ports: Record<string, number>, pid: number }
  /** RSS after a full GC (bytes) and CPU time used so far, user + system (µs). */
  | { type: 'measured', rss: number, heapUsed: number, cpuUs: number }

export type ToServer = { type: 'measure' } | { type: 'stop' }

/** Runs `start` and wires the IPC channel; an error before "ready" ends the process with a message. */
export function serve (name: string, start: () => Promise<Served>): void {
  start().then(served => {
    process.on('message', (m: ToServer) => {
      if (m.type === 'measure') {
        // --expose-gc is passed by the bench when it measures memory.
        const gc = (globalThis as { gc?: () => void }).gc
        gc?.()
        gc?.()
        const u = process.memoryUsage()
        const cpu = process.cpuUsage()
        process.send?.({ type: 'measured', rss: u.rss, heapUsed: u.heapUsed, cpuUs: cpu.user + cpu.system } satisfies ServerMessage)
      } else if (m.type === 'stop') {
        served.close().finally(() => process.exit(0))
        // Closing thousands of connections (and a cluster's workers) takes a while.
        setTimeout(() => process.exit(0), 20_000).unref()
      }
    })
    process.on('disconnect', () => process.exit(0))
    process.send?.({ type: 'ready', ports: served.ports, pid: process.pid } satisfies ServerMessage)
  }, (err: unknown) => {
    process.stderr.write(`${name}: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
}

/** `--name value` from argv. */
export function arg (name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? process.argv[i + 1] : undefined
  if (value !== undefined) return value
  if (fallback !== undefined) return fallback
  throw new Error(`missing --${name}`)
}
