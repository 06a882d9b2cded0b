// Graceful shutdown on SIGTERM or SIGINT, the same for every command: stop accepting, let work in
// flight finish, close the devices' connections (they reconnect elsewhere in the cluster), flush the
// log, exit; and exit anyway if that takes longer than the grace period (orchestrators send SIGKILL
// after 10 s by default).
import type { Logger } from './log.js'

export const SHUTDOWN_GRACE_MS = 10_000

export interface StopSignal {
  /** The first SIGTERM or SIGINT. */
  signalled: Promise<NodeJS.Signals>
  stopped: () => boolean
}

/** Listens for SIGTERM and SIGINT from now on, once. */
export function stopSignal (): StopSignal {
  let stopped = false
  const signalled = new Promise<NodeJS.Signals>(resolve => {
    const on = (signal: NodeJS.Signals): void => {
      stopped = true
      process.off('SIGTERM', on)
      process.off('SIGINT', on)
      resolve(signal)
    }
    process.on('SIGTERM', on)
    process.on('SIGINT', on)
  })
  return { signalled, stopped: () => stopped }
}

/** Runs `close`, then exits 0; exits 1 if it is not done within `graceMs`. Never returns. */
export async function shutDown (log: Logger, signal: NodeJS.Signals, close: () => Promise<void>, graceMs = SHUTDOWN_GRACE_MS): Promise<never> {
  log.info({ signal, graceMs }, 'shutting down')
  const force = setTimeout(() => {
    log.error({ graceMs }, 'shutdown took too long: exiting now')
    exit(log, 1)
  }, graceMs)
  force.unref()
  let code = 0
  try {
    await close()
    log.info('stopped')
  } catch (err) {
    log.error({ err }, 'shutdown failed')
    code = 1
  }
  clearTimeout(force)
  return exit(log, code)
}

function exit (log: Logger, code: number): never {
  try {
    log.flush()
  } catch {}
  process.exit(code)
}
