// Operator commands for one device; each calls the REST API and prints the device as it now is:
//   homing devices disable PRODUCT_KEY DEVICE_NAME [--instance ID]   disconnect it now, refuse it until enabled
//   homing devices enable PRODUCT_KEY DEVICE_NAME [--instance ID]
import type { Command } from 'commander'
import { action, callApi, withApiOptions, type ApiTarget } from './api-client.js'

interface DeviceOptions extends ApiTarget {
  instance?: string
}

const print = (value: unknown): void => { process.stdout.write(`${JSON.stringify(value, null, 2)}\n`) }

function devicePath (productKey: string, deviceName: string, verb: string, instanceId?: string): string {
  const query = instanceId === undefined ? '' : `?instanceId=${encodeURIComponent(instanceId)}`
  return `/products/${encodeURIComponent(productKey)}/devices/${encodeURIComponent(deviceName)}/${verb}${query}`
}

export function registerDevices (program: Command): void {
  const devices = program.command('devices').description('one device of a product: disable, enable')
  const verbs = [
    ['disable', 'disable a device: it is disconnected at once, its CONNECTs get 5 and its bootstrap 403 until it is enabled'],
    ['enable', 'enable a disabled device: it may connect again at once']
  ] as const
  for (const [verb, description] of verbs) {
    withApiOptions(devices.command(verb))
      .description(description)
      .argument('<productKey>')
      .argument('<deviceName>')
      .option('--instance <instanceId>', 'the instance of yours the device lives at (needed only when the product is at several)')
      .action(action(async (productKey: string, deviceName: string, opts: DeviceOptions) => {
        print(JSON.parse((await callApi(opts, 'POST', devicePath(productKey, deviceName, verb, opts.instance))).text))
      }))
  }
}
