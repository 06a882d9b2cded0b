// Baseline: Aedes 1.x over TCP, no authentication, default in-memory persistence and emitter.
import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import { serve } from './serve.js'

serve('bare-aedes', async () => {
  const aedes = await Aedes.createBroker()
  const server = createServer(aedes.handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    ports: { mqtt: (server.address() as AddressInfo).port },
    close: () => new Promise(resolve => aedes.close(() => server.close(() => resolve())))
  }
})
