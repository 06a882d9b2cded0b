// Under test: the bootstrap sidecar (startSidecar over Redis), alone in its process.
import { Topology, loadConfig } from '../../shared/config.js'
import { silentLogger } from '../../shared/log.js'
import { openStore } from '../../shared/store/index.js'
import { startSidecar } from '../../bootstrap/http/server.js'
import { JobRunner } from '../../bootstrap/jobs/runner.js'
import { applyExperiments } from './experiment.js'
import { arg, serve } from './serve.js'

serve('homing-bootstrap', async () => {
  const config = loadConfig(arg('config'))
  const store = await openStore(config)
  applyExperiments(store)
  const topology = new Topology(config)
  const server = await startSidecar({ config, topology, store, log: silentLogger }, { host: '127.0.0.1', port: 0 })
  // With --jobs, the distribution job runner runs beside the server, as in `homing bootstrap`.
  const runner = process.argv.includes('--jobs') ? new JobRunner({ store, topology, pollMs: config.bootstrap.jobPollMs }) : null
  runner?.start()
  return {
    ports: { http: server.port },
    close: async () => {
      await runner?.close()
      await server.close()
      await store.close()
    }
  }
})
