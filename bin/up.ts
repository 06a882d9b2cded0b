// `homing up`: the sidecar and one broker node per instance in one process, on the memory store
// unless the config names a Redis. `npm start` runs it on docker/demo.json.
import { Command, Option } from 'commander'
import { startSidecar, type SidecarServer } from '../bootstrap/server.js'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { TRANSPORTS, WS_PATH } from '../broker/listeners.js'
import { startBrokerNode, type BrokerNode, type PortName } from '../broker/node.js'
import { ConfigError, loadConfig, Topology, type Config } from '../shared/config.js'
import { createLogger, type Logger } from '../shared/log.js'
import { Metrics, observedStore, observeJobs } from '../shared/metrics/index.js'
import { shutDown, stopSignal } from '../shared/shutdown.js'
import { openStore } from '../shared/store/index.js'
import type { Store } from '../shared/store/store.js'

export interface Everything {
  sidecar: SidecarServer
  brokers: Map<string, BrokerNode>
  store: Store
  /** Everything this process counts; served at the sidecar's /metrics. */
  metrics: Metrics
  close: () => Promise<void>
}

const PORT_NAMES: PortName[] = [...TRANSPORTS, 'http']

/** A port someone else holds: name it and the key that moves it. */
export class PortTakenError extends Error {
  constructor (readonly port: number, readonly key: string) {
    super(`port ${port} is already in use (${key}); free it or change ${key} in the config`)
    this.name = 'PortTakenError'
  }
}

/** `keys`: the config key of each port the start may bind; the taken one is named. */
async function bound<T> (keys: [number | undefined, string][], start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    const taken = (err as NodeJS.ErrnoException & { port?: number })
    const key = keys.find(([port]) => port !== undefined && port === taken.port) ?? keys[0]
    if (taken.code === 'EADDRINUSE' && key?.[0] !== undefined) throw new PortTakenError(key[0], key[1])
    throw err
  }
}

/** Starts every part; on a failure, stops what had started and rethrows. */
export async function up (config: Config, log: Logger, metrics = new Metrics()): Promise<Everything> {
  const store = observedStore(await openStore(config), metrics)
  observeJobs(metrics, store)
  const topology = new Topology(config)
  const brokers = new Map<string, BrokerNode>()
  let sidecar: SidecarServer | undefined
  const runner = new JobRunner({ store, log: log.child({ part: 'jobs' }), topology, pollMs: config.bootstrap.jobPollMs, batchSize: config.bootstrap.jobBatchSize })
  const close = async (): Promise<void> => {
    await sidecar?.close()
    await runner.close()
    await Promise.all([...brokers.values()].map(b => b.close()))
    await store.close()
  }
  try {
    sidecar = await bound([[config.bootstrap.port, 'bootstrap.port'], [config.bootstrap.httpsPort, 'bootstrap.httpsPort']], () =>
      startSidecar({ config, topology, store, log: log.child({ part: 'bootstrap' }), metrics }))
    runner.start()
    for (const [i, instance] of config.instances.entries()) {
      if (!TRANSPORTS.some(t => instance.listen[t] !== undefined)) continue
      const keys = PORT_NAMES.map((name): [number | undefined, string] => [instance.listen[name], `instances[${i}].listen.${name}`])
      brokers.set(instance.id, await bound(keys, () =>
        startBrokerNode({ config, instanceId: instance.id, store, log: log.child({ part: 'broker' }), metrics })))
    }
  } catch (err) {
    await close()
    throw err
  }
  return { sidecar, brokers, store, metrics, close }
}

function banner (config: Config, everything: Everything): string {
  const host = config.bootstrap.host === '0.0.0.0' ? '127.0.0.1' : config.bootstrap.host
  const lines = [
    '',
    `Homing is up (${everything.store.kind === 'memory' ? 'memory store: nothing is kept when it stops' : `registry ${config.redis ?? ''}`}).`,
    `  bootstrap  http://${host}:${everything.sidecar.port}/auth/bootstrap`,
    `  API        http://${host}:${everything.sidecar.port}/api/v1`
  ]
  if (everything.sidecar.httpsPort !== null) lines.push(`  bootstrap  https://${host}:${everything.sidecar.httpsPort}/auth/bootstrap`)
  lines.push(`  health     http://${host}:${everything.sidecar.port}/healthz, /readyz, /metrics`)
  for (const [id, node] of everything.brokers) {
    const instance = config.instances.find(i => i.id === id)
    const urls = TRANSPORTS.flatMap(t => node.ports[t] === undefined ? [] : [`${t}://${instance?.listen.host ?? ''}:${node.ports[t]}${t === 'ws' || t === 'wss' ? WS_PATH : ''}`])
    lines.push(`  broker     ${id} (${instance?.region ?? ''}) ${urls.join(' ')}`)
  }
  for (const account of config.accounts) {
    lines.push(`  token      ${account.id}: ${account.token}   (demo config only; never log real tokens)`)
  }
  lines.push('Walk-through: README.md "Try it". Stop with Ctrl-C.', '')
  return lines.join('\n')
}

export function registerUp (program: Command): void {
  program.command('up')
    .description('run the sidecar and one broker node per instance in one process (memory store unless "redis" is set)')
    .addOption(new Option('--config <file>', 'configuration file').env('HOMING_CONFIG').makeOptionMandatory())
    .option('--quiet', 'no banner')
    .action(async (flags: { config: string, quiet?: boolean }) => {
      const config = loadConfig(flags.config)
      const log = createLogger('homing')
      const stop = stopSignal()
      let everything: Everything
      try {
        everything = await up(config, log)
      } catch (err) {
        if (err instanceof ConfigError) throw err // bin/homing.ts: the message, exit 2
        process.stderr.write(`homing up: ${(err as Error).message}\n`)
        process.exit(1)
      }
      // The banner is for the person at the terminal; it prints the demo token on purpose.
      if (flags.quiet !== true) process.stderr.write(banner(config, everything))
      log.info({ port: everything.sidecar.port, httpsPort: everything.sidecar.httpsPort, brokers: [...everything.brokers].map(([id, b]) => ({ id, ports: { ...b.ports } })) }, 'listening')
      await shutDown(log, await stop.signalled, everything.close)
    })
}
