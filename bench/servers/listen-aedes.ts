// An Aedes broker of the connect scenario on a TCP port of 127.0.0.1 picked by the system. `close`
// ends the clients (Aedes), then the listener, then whatever the server opened beside (`after`).
import { createServer, type AddressInfo } from 'node:net'
import type { Aedes } from 'aedes'
import type { Served } from './serve.js'

export async function listenAedes (aedes: Aedes, after: () => Promise<void> | void = () => {}): Promise<Served> {
  const server = createServer(aedes.handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    ports: { mqtt: (server.address() as AddressInfo).port },
    close: async () => {
      await new Promise<void>(resolve => aedes.close(() => resolve()))
      await new Promise<void>(resolve => server.close(() => resolve()))
      await after()
    }
  }
}
