// Diagnostic: the Homing plugin on a plain Aedes (in-memory emitter and persistence, as a
// single-node deployment could run it) with the registry in Redis. Beside the full broker node
// (cluster backends in Redis) it separates the cost of Homing's hooks from the cost of clustering.
import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import { loadConfig } from '../../shared/config.js'
import { openStore } from '../../shared/store/index.js'
import { homing } from '../../broker/plugin.js'
import { applyExperiments } from './experiment.js'
import { arg, serve } from './serve.js'

serve('homing-plugin', async () => {
  const config = loadConfig(arg('config'))
  const instanceId = arg('instance')
  // As broker/node.ts opens it: the registry connection auto-pipelines.
  const store = await openStore(config, { autoPipelining: true })
  applyExperiments(store)
  const aedes = await Aedes.createBroker()
  const plugin = homing(aedes, { instanceId, nodeId: `${instanceId}-plugin`, store })
  await plugin.ready
  const server = createServer(aedes.handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    ports: { mqtt: (server.address() as AddressInfo).port },
    close: async () => {
      await new Promise<void>(resolve => server.close(() => resolve()))
      await new Promise<void>(resolve => aedes.close(() => resolve()))
      await plugin.close()
      await store.close()
    }
  }
})
