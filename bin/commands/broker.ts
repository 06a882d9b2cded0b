// `homing broker`: a thin runner around the plugin: config, registry, one node, signals.
import { Command, InvalidArgumentError, Option } from 'commander'
import type { BrokerNode, PortName } from '../../broker/node.js'

interface BrokerFlags {
  config: string
  instance: string
  node?: string
  mqttPort?: number
  mqttsPort?: number
  wsPort?: number
  wssPort?: number
  httpPort?: number
}

function port (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number, 0-65535')
  return n
}

export function registerBroker (program: Command): void {
  program.command('broker')
    .description('run one broker node of one instance (several nodes of an instance share its Redis)')
    .addOption(new Option('--config <file>', 'configuration file').env('HOMING_CONFIG').makeOptionMandatory())
    .requiredOption('--instance <id>', 'instance this node serves')
    .addOption(new Option('--node <id>', 'stable node id (default <instance>-<hostname>-<mqtt port>)').env('NODE_ID'))
    .addOption(new Option('--mqtt-port <n>', 'MQTT port, overrides listen.mqtt (0: any free port)').env('MQTT_PORT').argParser(port))
    .addOption(new Option('--mqtts-port <n>', 'MQTT over TLS port, overrides listen.mqtts').env('MQTTS_PORT').argParser(port))
    .addOption(new Option('--ws-port <n>', 'MQTT over WebSocket port, overrides listen.ws').env('WS_PORT').argParser(port))
    .addOption(new Option('--wss-port <n>', 'MQTT over secure WebSocket port, overrides listen.wss').env('WSS_PORT').argParser(port))
    .addOption(new Option('--http-port <n>', 'health and metrics port, overrides listen.http').env('HTTP_PORT').argParser(port))
    .action(async (flags: BrokerFlags) => { await runBroker(flags) })
}

async function runBroker (flags: BrokerFlags): Promise<void> {
  // Loaded when the command runs: `homing --help` and the other commands do not pay for them.
  const [{ ConfigError, loadConfig }, { createLogger }, { Metrics }, { shutDown, stopSignal }, { StoreUnavailableError }, { startBrokerNode }] = await Promise.all([
    import('../../shared/config.js'), import('../../shared/log.js'), import('../../shared/metrics/index.js'), import('../../shared/shutdown.js'),
    import('../../shared/store/store.js'), import('../../broker/node.js')])
  const config = loadConfig(flags.config)
  const log = createLogger('broker')
  // Signals are taken from the start: one arriving while the node starts stops it once it is up.
  const stop = stopSignal()
  const given: [PortName, number | undefined][] = [['mqtt', flags.mqttPort], ['mqtts', flags.mqttsPort], ['ws', flags.wsPort], ['wss', flags.wssPort], ['http', flags.httpPort]]
  let node: BrokerNode
  try {
    node = await startBrokerNode({
      config,
      instanceId: flags.instance,
      nodeId: flags.node,
      log,
      ports: Object.fromEntries(given.filter(([, p]) => p !== undefined)),
      metrics: new Metrics()
    })
  } catch (err) {
    if (err instanceof ConfigError) throw err // bin/homing.ts: the message, exit 2
    if (err instanceof StoreUnavailableError) log.error({ err: err.message }, 'registry unavailable at start')
    else log.error({ err }, 'could not start')
    process.exit(1)
  }
  await shutDown(log, await stop.signalled, node.close)
}
