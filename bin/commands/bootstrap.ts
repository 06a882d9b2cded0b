// `homing bootstrap --config FILE [--port N]`: the sidecar alone, next to brokers that share its Redis.
import { InvalidArgumentError, Option, type Command } from 'commander'
import type { Config } from '../../shared/config.js'
import type { Logger } from '../../shared/log.js'
import type { StopSignal } from '../../shared/shutdown.js'
import type { Store } from '../../shared/store/index.js'
import type { Sidecar } from '../../bootstrap/context.js'

interface BootstrapOptions {
  config: string
  port?: number
}

export function registerBootstrap (program: Command): void {
  program.command('bootstrap')
    .description('run the bootstrap sidecar alone: POST /auth/bootstrap for devices, /api/v1 for operators')
    .addOption(new Option('--config <file>', 'configuration file').env('HOMING_CONFIG').makeOptionMandatory())
    .addOption(new Option('--port <n>', 'HTTP port, 0 for a free one (default: bootstrap.port)').env('BOOTSTRAP_PORT').argParser(parsePort))
    .action(async (opts: BootstrapOptions) => { await runBootstrap(opts) })
}

function parsePort (value: string): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('a port number, 0-65535')
  return port
}

async function runBootstrap (opts: BootstrapOptions): Promise<void> {
  // Loaded when the command runs: `homing --help` and the other commands do not pay for them.
  const [{ ConfigError, Topology, loadConfig }, { createLogger }, { Metrics, observedStore, observeJobs }, { shutDown, stopSignal }, { loadGeoData }, { loadTls }, { JobRunner }, { startSidecar }] = await Promise.all([
    import('../../shared/config.js'), import('../../shared/log.js'), import('../../shared/metrics/index.js'), import('../../shared/shutdown.js'),
    import('../../shared/geo.js'), import('../../shared/tls.js'), import('../../bootstrap/jobs/runner.js'), import('../../bootstrap/http/server.js')])
  const config = loadConfig(opts.config)
  if (config.redis === undefined) {
    throw new ConfigError('redis: "homing bootstrap" needs the shared registry: set "redis" in the config or REDIS_URL ' +
      '(an in-process memory store would share nothing with the brokers; "homing up" runs everything in one process)')
  }
  // Read now: a bad certificate is a config error, not something found once the registry answers.
  const tls = loadTls(config)
  const log = createLogger('bootstrap')
  const stop = stopSignal()
  const metrics = new Metrics()
  const opened = await openRegistry(config, log, stop)
  if (opened === null) return
  const store = observedStore(opened, metrics)
  observeJobs(metrics, store)
  const sidecar: Sidecar = { config, topology: new Topology(config), store, log, metrics }
  loadGeoData() // nearest access: read before devices bootstrap, not in the middle of one
  const server = await startSidecar(sidecar, { ...(opts.port === undefined ? {} : { port: opts.port }), ...(tls === null ? {} : { tls }) })
  log.info({ host: config.bootstrap.host, port: server.port, httpsPort: server.httpsPort }, 'listening')
  // The distribution job runner, beside the server: it resumes any job a stopped sidecar left.
  const runner = new JobRunner({ store, log: log.child({ part: 'jobs' }), topology: sidecar.topology, pollMs: config.bootstrap.jobPollMs, batchSize: config.bootstrap.jobBatchSize, clock: sidecar.clock })
  runner.start()

  await shutDown(log, await stop.signalled, async () => {
    // In-flight requests finish first (the runner's current batch too), then the registry closes.
    await Promise.all([server.close(), runner.close()])
    await store.close()
  })
}

/** docs/operations.md, "Redis outage": a registry that is down at start is waited for, not a crash; null when stopped meanwhile. */
async function openRegistry (config: Config, log: Logger, stop: StopSignal): Promise<Store | null> {
  const { openStore, StoreUnavailableError } = await import('../../shared/store/index.js')
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStore(config)
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err
      const waitMs = Math.min(5000, 250 * 2 ** attempt)
      log.warn({ attempt, retryInMs: waitMs, reason: err.message }, 'registry unavailable')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([new Promise<void>(resolve => { timer = setTimeout(resolve, waitMs) }), stop.signalled])
      clearTimeout(timer)
      if (stop.stopped()) return null
    }
  }
}
