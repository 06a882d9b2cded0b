// mqemitter-redis closes its two connections with QUIT and leaves the promise unhandled. On an
// auto-pipelined connection (the emitter's publisher) that races with the commands still queued
// for the next pipeline: ioredis never pipelines QUIT, so it goes out first, Redis closes the
// connection after it, and the queued PUBLISHes (the $SYS announcements of the devices Aedes has
// just closed) are lost; now and then the QUIT itself is rejected with "Connection is closed", which
// as an unhandled rejection ends the process in the middle of its shutdown.
import type { Redis } from 'ioredis'

/**
 * Makes `conn.quit()` wait for what is already queued on the connection (a PING rides the same
 * auto-pipeline, so it is answered after them), and take a rejected QUIT for what it is: a closed
 * connection. Never rejects.
 */
export function quitAfterQueued (conn: Redis): Redis {
  const quit = conn.quit.bind(conn) as () => Promise<'OK'>
  const ping = conn.ping.bind(conn) as () => Promise<string>
  const safe = async (): Promise<'OK'> => {
    if (conn.status === 'ready') await ping().catch(() => {})
    try {
      return await quit()
    } catch {
      conn.disconnect()
      return 'OK'
    }
  }
  conn.quit = safe as Redis['quit']
  return conn
}
