// Floor: the least a broker that authenticates against a shared Redis registry can do per CONNECT,
// on a plain Aedes (in-memory emitter and persistence). `--steps read`: one GET of the device's
// record, its JSON parse and the signature check. `--steps read,mark`: the same, then one SET of an
// online mark (a small string under the record's hash tag), awaited before the CONNACK. `--steps
// defer`: no Redis at all, the CONNACK a turn of the event loop later (setImmediate), which is what
// answering after any I/O costs Aedes by itself. No limits,
// logs, metrics, timeline, takeover or index. It bounds from below what Homing's hooks can cost:
// what it spends over bare Aedes, any registry-checking broker on ioredis spends.
import { randomUUID } from 'node:crypto'
import { Aedes, type AuthenticateError } from 'aedes'
import { Redis } from 'ioredis'
import { loadConfig } from '../../shared/config.js'
import { parseIdentity } from '../../shared/client-id.js'
import { verify } from '../../shared/sign.js'
import { deviceKey } from '../../shared/store/device-keys.js'
import type { Device } from '../../shared/types.js'
import { listenAedes } from './listen-aedes.js'
import { arg, serve } from './serve.js'

const refused = (returnCode: number): AuthenticateError => Object.assign(new Error('refused'), { returnCode }) as unknown as AuthenticateError

serve('floor-aedes', async () => {
  const config = loadConfig(arg('config'))
  const instanceId = arg('instance')
  const steps = arg('steps', 'read').split(',')
  const mark = steps.includes('mark')
  const defer = steps.includes('defer')
  if (typeof config.redis !== 'string') throw new Error('floor-aedes: needs a redis:// URL')
  const redis = new Redis(config.redis, { enableAutoPipelining: true })
  const prefix = config.keyPrefix
  const aedes = await Aedes.createBroker()
  const clientIds = new WeakMap<object, string>()
  aedes.preConnect = (client, packet, done) => {
    clientIds.set(client, packet.clientId ?? '')
    done(null, true)
  }
  aedes.authenticate = (client, username, password, done) => {
    const check = async (): Promise<number> => {
      if (defer) return await new Promise<number>(resolve => setImmediate(() => resolve(0)))
      const identity = parseIdentity(clientIds.get(client) ?? '', username ?? '')
      const key = deviceKey(prefix, identity.productKey, identity.deviceName)
      const raw = await redis.get(key)
      if (raw === null) return 4
      const device = JSON.parse(raw) as Device
      const signed = { clientId: identity.id, deviceName: identity.deviceName, productKey: identity.productKey, timestamp: identity.timestamp }
      if (password === undefined || !verify(device.deviceSecret, signed, identity.signMethod, password.toString('latin1'))) return 4
      if (device.instanceId !== instanceId) return 5
      if (mark) await redis.set(key.replace(`${prefix}device:`, `${prefix}floor-online:`), randomUUID())
      return 0
    }
    check().then(code => { if (code === 0) done(null, true); else done(refused(code), false) }, () => done(refused(3), false))
  }
  return await listenAedes(aedes, () => { redis.disconnect() })
})
