// The `homing up` command: its options and its banner. The parts it starts (bin/up.ts: Aedes, Koa,
// the registry) are loaded only when it runs, so `homing --help` and the other commands start quickly.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Option, type Command } from 'commander'
import type { Config } from '../../shared/config.js'
import type { Everything } from '../up.js'
import { describeRedis } from '../../shared/redis-client.js'

/** The bundled demo config (docker/demo.json), from the sources (bin/commands/) or the build (dist/bin/commands/). */
const DEMO_CONFIGS = ['../../docker/demo.json', '../../../docker/demo.json'].map(p => fileURLToPath(new URL(p, import.meta.url)))

function isBundledDemo (file: string): boolean {
  try {
    return DEMO_CONFIGS.includes(realpathSync(file))
  } catch {
    return false
  }
}

/** A Redis URL as the banner may show it: never its password. */
export function withoutPassword (url: string): string {
  try {
    const u = new URL(url)
    if (u.password === '') return url
    u.password = '***'
    return u.toString()
  } catch {
    return 'redis (URL not shown)'
  }
}

function banner (config: Config, everything: Everything, demo: boolean, { TRANSPORTS, WS_PATH }: typeof import('../../broker/listeners.js')): string {
  const host = config.bootstrap.host === '0.0.0.0' ? '127.0.0.1' : config.bootstrap.host
  const lines = [
    '',
    `Homing is up (${everything.store.kind === 'memory' ? 'memory store: nothing is kept when it stops' : `registry ${typeof config.redis === 'object' ? describeRedis(config.redis) : withoutPassword(config.redis ?? '')}`}).`,
    `  bootstrap  http://${host}:${everything.sidecar.port}/auth/bootstrap`,
    `  API        http://${host}:${everything.sidecar.port}/api/v1`,
    `  console    http://${host}:${everything.sidecar.port}/console/`
  ]
  if (everything.sidecar.httpsPort !== null) lines.push(`  bootstrap  https://${host}:${everything.sidecar.httpsPort}/auth/bootstrap`)
  lines.push(`  health     http://${host}:${everything.sidecar.port}/healthz, /readyz, /metrics`)
  for (const [id, node] of everything.brokers) {
    const instance = config.instances.find(i => i.id === id)
    const urls = TRANSPORTS.flatMap(t => node.ports[t] === undefined ? [] : [`${t}://${instance?.listen.host ?? ''}:${node.ports[t]}${t === 'ws' || t === 'wss' ? WS_PATH : ''}`])
    lines.push(`  broker     ${id} (${instance?.region ?? ''}) ${urls.join(' ')}`)
  }
  // Tokens are printed for the bundled demo config only, whose token is public anyway.
  for (const account of config.accounts) {
    lines.push(demo ? `  token      ${account.id}: ${account.token}   (demo config only)` : `  account    ${account.id}: token as set in the config (not shown)`)
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
      const [{ ConfigError, loadConfig }, { createLogger }, { shutDown, stopSignal }, listeners, { up }] = await Promise.all([
        import('../../shared/config.js'), import('../../shared/log.js'), import('../../shared/shutdown.js'), import('../../broker/listeners.js'), import('../up.js')])
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
      // The banner is for the person at the terminal; it prints the demo config's token on purpose.
      if (flags.quiet !== true) process.stderr.write(banner(config, everything, isBundledDemo(flags.config), listeners))
      log.info({ port: everything.sidecar.port, httpsPort: everything.sidecar.httpsPort, brokers: [...everything.brokers].map(([id, b]) => ({ id, ports: { ...b.ports } })) }, 'listening')
      await shutDown(log, await stop.signalled, everything.close)
    })
}
