// `homing <command>`: each part registers its own commands; this file only wires them together.
import { Command } from 'commander'
import { registerLoadtest } from '../bench/loadtest/command.js'
import { registerBroker } from '../broker/command.js'
import { registerBootstrap } from '../bootstrap/command.js'
import { registerDistribution } from '../bootstrap/operator/distribution.js'
import { registerCodes } from '../bootstrap/operator/codes.js'
import { registerDevices } from '../bootstrap/operator/devices.js'
import { registerUp } from './up-command.js'
import { registerDevice } from '../device/command.js'

const program = new Command('homing')
  .description('Self-hosted device distribution for MQTT fleets')
  .showHelpAfterError()

// Each part adds its commands here (one line per part).
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
