// `homing credentials` and `homing device`: one device by hand, for the README walk-through and for
// trying a deployment without firmware.
import { Command, Option } from 'commander'
import type { Certificate } from '../../shared/types.js'
import { credentials, type ClientIdForm } from '../../device/credentials.js'

interface CertificateFlags {
  productKey: string
  deviceName: string
  deviceSecret: string
}

function certificateOptions (command: Command): Command {
  return command
    .requiredOption('--product-key <pk>', 'the device\'s ProductKey')
    .requiredOption('--device-name <dn>', 'the device\'s DeviceName')
    .addOption(new Option('--device-secret <secret>', 'the device\'s DeviceSecret').env('DEVICE_SECRET').makeOptionMandatory())
}

const certificate = (f: CertificateFlags): Certificate => ({ productKey: f.productKey, deviceName: f.deviceName, deviceSecret: f.deviceSecret })

/** Single-quoted for a POSIX shell. */
const quote = (s: string): string => `'${s.replace(/'/g, '\'\\\'\'')}'`

export function registerDevice (program: Command): void {
  certificateOptions(program.command('credentials'))
    .description('print the signed MQTT clientId, username and password of a certificate as mosquitto_pub/sub flags')
    .addOption(new Option('--form <form>', 'clientId form').choices(['link-sdk-c', 'node-sdk', 'doc']).default('doc'))
    .option('--json', 'print JSON instead of shell flags')
    .action((flags: CertificateFlags & { form: ClientIdForm, json?: boolean }) => {
      const c = credentials(certificate(flags), { form: flags.form })
      process.stdout.write(flags.json === true
        ? JSON.stringify(c) + '\n'
        : `-i ${quote(c.clientId)} -u ${quote(c.username)} -P ${quote(c.password)}\n`)
    })

  certificateOptions(program.command('device'))
    .description('run one device: bootstrap, signed CONNECT, answer notify, re-home; Ctrl-C stops it')
    .addOption(new Option('--bootstrap <url>', 'bootstrap server, http(s)://host:port').env('HOMING_BOOTSTRAP').makeOptionMandatory())
    .option('--keepalive <s>', 'MQTT keepalive, seconds', v => Number(v), 60)
    .action(async (flags: CertificateFlags & { bootstrap: string, keepalive: number }) => {
      // Loaded when the command runs (mqtt.js): `homing --help` and the other commands do not pay for it.
      const { DeviceClient } = await import('../../device/client.js')
      const device = new DeviceClient({ certificate: certificate(flags), bootstrapUrl: flags.bootstrap, keepalive: flags.keepalive })
      const say = (line: string): void => { process.stdout.write(`${line}\n`) }
      device.on('connected', e => say(`connected to ${e.endpoint.host}:${e.endpoint.port} (${e.reason})`))
      device.on('notify', e => say(`notify ${e.id ?? ''}: answering, then bootstrapping again`))
      device.on('attempt-failed', e => {
        const fatal = hopeless(e.error, flags)
        if (fatal === null) return say(`${e.step} failed: ${e.error.message}; retrying in ${Math.round(e.retryInMs)} ms`)
        process.stderr.write(`homing device: ${fatal}\n`)
        void device.stop().finally(() => process.exit(2))
      })
      device.on('message', (topic, payload) => say(`message on ${topic}: ${payload.toString()}`))
      const stop = (): void => { void device.stop().finally(() => process.exit(0)) }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      await device.start()
    })
}

/**
 * A failure retrying cannot mend, as what to do about it; null for one worth retrying. CONNACK 4 is
 * a wrong secret (docs/protocol.md, "CONNECT authentication"); a bootstrap answered 404 "device not found"
 * is a certificate the sidecar does not know. 5 is not here: moves answer it on the way.
 */
function hopeless (error: Error & { returnCode?: unknown, status?: unknown }, f: CertificateFlags): string | null {
  const show = `\`homing devices certificate ${f.productKey} ${f.deviceName}\` prints the right one`
  if (error.name === 'ConnectRefusedError' && error.returnCode === 4) {
    return `the broker refused the signature (CONNACK 4): the device secret is wrong for ${f.productKey}/${f.deviceName}; ${show}`
  }
  if (error.name === 'BootstrapError' && error.status === 404 && error.message.endsWith('device not found')) {
    return `${error.message}: no device ${f.productKey}/${f.deviceName} is known there; check --product-key, --device-name and --bootstrap`
  }
  return null
}
