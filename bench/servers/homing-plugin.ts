// Diagnostic: the Homing plugin on a plain Aedes (in-memory emitter and persistence, as a
// single-node deployment could run it) with the registry in Redis. Beside the full broker node
// (cluster backends in Redis) it separates the cost of Homing's hooks from the cost of clustering.
import { Aedes } from 'aedes'
import { loadConfig } from '../../shared/config.js'
import { openStore } from '../../shared/store/index.js'
import { homing } from '../../broker/plugin.js'
import { applyExperiments } from './experiment.js'
import { listenAedes } from './listen-aedes.js'
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
  return await listenAedes(aedes, async () => {
    await plugin.close()
    await store.close()
  })
})
