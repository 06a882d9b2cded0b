// `homing <command>`: every command group lives in bin/commands/, one file each; this file only
// wires them together. Each loads its heavy parts when it runs, so `homing --help` starts quickly.
import { Command } from 'commander'
import { registerBootstrap } from './commands/bootstrap.js'
import { registerBroker } from './commands/broker.js'
import { registerCodes } from './commands/codes.js'
import { registerDevice } from './commands/device.js'
import { registerDevices } from './commands/devices.js'
import { registerDistribution } from './commands/distribution.js'
import { registerLoadtest } from './commands/loadtest.js'
import { registerUp } from './commands/up.js'

const program = new Command('homing')
  .description('Self-hosted device distribution for MQTT fleets')
  .showHelpAfterError()

// In the order `homing --help` lists them.
const parts: ((program: Command) => void)[] = [registerLoadtest, registerBroker, registerBootstrap, registerUp, registerDistribution, registerCodes, registerDevices, registerDevice]

for (const register of parts) register(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  // By name: shared/config.js (zod) is loaded only by the commands that read a config.
  if (err instanceof Error && err.name === 'ConfigError') {
    process.stderr.write(`homing: invalid config:\n${err.message}\n`)
    process.exit(2)
  }
  throw err
}
