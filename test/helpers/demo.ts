// `homing up` on the bundled demo config (docker/demo.json), as `npm start` runs it, but on free
// ports (BOOTSTRAP_PORT, HOMING_MQTT_PORT_<INSTANCE>), ready before it returns and stopped when `t` ends.
import type { Test } from 'tap'
import { freePort } from './free-port.js'
import { startHoming, type HomingProcess } from './homing-process.js'
import { eventually } from './wait.js'

export interface Demo {
  url: string
  ports: { bootstrap: number, sh: number, de: number, gx: number }
  up: HomingProcess
}

export async function startDemo (t: Test, extraArgs: string[] = []): Promise<Demo> {
  const ports = { bootstrap: await freePort(), sh: await freePort(), de: await freePort(), gx: await freePort() }
  const up = startHoming(['up', '--config', 'docker/demo.json', ...extraArgs], {
    BOOTSTRAP_PORT: String(ports.bootstrap),
    HOMING_MQTT_PORT_IOT_SH_1: String(ports.sh),
    HOMING_MQTT_PORT_IOT_DE_1: String(ports.de),
    HOMING_MQTT_PORT_IOT_GX_1: String(ports.gx)
  })
  t.teardown(async () => {
    up.child.kill('SIGTERM')
    await up.exit(15_000).catch(() => up.kill())
  })
  const url = `http://127.0.0.1:${ports.bootstrap}`
  await eventually(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, () => `homing up to be ready at ${url}:\n${up.output()}`, { ms: 30_000 })
  return { url, ports, up }
}
