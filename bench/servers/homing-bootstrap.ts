// Under test: the bootstrap sidecar (startSidecar over Redis), alone in its process.
import { Topology, loadConfig } from '../../shared/config.js'
import { silentLogger } from '../../shared/log.js'
import { openStore } from '../../shared/store/index.js'
import { startSidecar } from '../../bootstrap/server.js'
import { arg, serve } from './serve.js'

serve('homing-bootstrap', async () => {
  const config = loadConfig(arg('config'))
  const store = await openStore(config)
  const server = await startSidecar({ config, topology: new Topology(config), store, log: silentLogger }, { host: '127.0.0.1', port: 0 })
  return {
    ports: { http: server.port },
    close: async () => {
      await server.close()
      await store.close()
    }
  }
})
