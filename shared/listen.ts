// Binding a server, with a port that cannot be had named by the config key that moves it.
import type { Server } from 'node:net'

/**
 * Listens; EADDRINUSE / EACCES become an error naming `key` (it keeps `code` and `port` for callers).
 * `backlog`: the accept queue's length (Node's default 511); Linux caps it at net.core.somaxconn.
 */
export async function listen (server: Server, host: string, port: number, key: string, backlog?: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      const taken = err.code === 'EADDRINUSE' || err.code === 'EACCES'
      reject(taken ? Object.assign(new Error(`${key}: cannot listen on ${host}:${port} (${err.code})`), { code: err.code, port }) : err)
    }
    server.once('error', failed)
    server.listen({ port, host, ...(backlog === undefined ? {} : { backlog }) }, () => {
      server.off('error', failed)
      resolve()
    })
  })
}
