// `homing <command>`: every command group lives in bin/commands/, one file each; this file only
// wires them together. Each loads its heavy parts when it runs, so `homing --help` starts quickly.
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { registerBootstrap } from './commands/bootstrap.js'
import { registerBroker } from './commands/broker.js'
import { registerCodes } from './commands/codes.js'
import { registerDevice } from './commands/device.js'
import { registerDevices } from './commands/devices.js'
import { registerDistribution } from './commands/distribution.js'
import { registerLoadtest } from './commands/loadtest.js'
import { registerProducts } from './commands/products.js'
import { registerRegistry } from './commands/registry.js'
import { registerUp } from './commands/up.js'

const program = new Command('homing')
  .description('Self-hosted device distribution for MQTT fleets')
  .version(version(), '-V, --version', 'print the version')
  .showHelpAfterError()

/** package.json's version, from the sources (bin/) or the build (dist/bin/). */
function version (): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: unknown, version?: unknown }
      if (pkg.name === 'homing' && typeof pkg.version === 'string') return pkg.version
    } catch {}
  }
  return 'unknown'
}

// In the order `homing --help` lists them.
const parts: ((program: Command) => void)[] = [registerLoadtest, registerBroker, registerBootstrap, registerUp, registerDistribution, registerCodes, registerProducts, registerDevices, registerDevice, registerRegistry]

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
