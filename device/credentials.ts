// docs/protocol.md, "CONNECT authentication": the clientId, username and password a device puts in its CONNECT, in the forms the
// real SDKs use.
import { randomBytes } from 'node:crypto'
import { sign, type SignMethod } from '../shared/sign.js'
import type { Certificate } from '../shared/types.js'

export interface Credentials {
  clientId: string
  username: string
  password: string
}

/**
 * - `link-sdk-c`: `pk.dn|timestamp=2524608000000,_ss=1,_v=sdk-c-4.1.0,securemode=3,signmethod=hmacsha256,ext=3,_conn=...|`, upper-case hex.
 * - `node-sdk`: `pk&dn_aliyun-iot-device-sdk-js|securemode=3,signmethod=hmacsha1,timestamp=...,lan=JS,_v=1.2.8|`, lower-case hex.
 * - `doc`: Alibaba's documented form `<id>|securemode=3,signmethod=...,timestamp=...|`, lower-case hex.
 */
export type ClientIdForm = 'link-sdk-c' | 'node-sdk' | 'doc'

export interface CredentialOptions {
  form?: ClientIdForm
  /** Default: hmacsha256 for link-sdk-c, hmacsha1 otherwise. */
  signMethod?: SignMethod
  /** Default: the C SDK's fixed 2524608000000, or now for the other forms. */
  timestamp?: string
  /** `securemode`: 3 plain TCP (default), 2 TLS. */
  secureMode?: 2 | 3
  /** The Link SDK's `_conn` value (a fresh one per connection when absent). */
  conn?: string
  /** `doc` form: the id before the first "|" (default `pk.dn`). */
  id?: string
}

/** docs/protocol.md, "CONNECT authentication": the C SDK fixes the timestamp at year 2050. */
export const LINK_SDK_TIMESTAMP = '2524608000000'
export const LINK_SDK_VERSION = 'sdk-c-4.1.0'

export function credentials (cert: Certificate, opts: CredentialOptions = {}): Credentials {
  const { productKey, deviceName, deviceSecret } = cert
  const form = opts.form ?? 'link-sdk-c'
  const secureMode = opts.secureMode ?? 3
  const username = `${deviceName}&${productKey}`
  if (form === 'link-sdk-c') {
    const method = opts.signMethod ?? 'hmacsha256'
    const timestamp = opts.timestamp ?? LINK_SDK_TIMESTAMP
    const id = `${productKey}.${deviceName}`
    const conn = opts.conn ?? `tcp_${randomBytes(1).toString('hex')}`
    const clientId = `${id}|timestamp=${timestamp},_ss=1,_v=${LINK_SDK_VERSION},securemode=${secureMode},signmethod=${method},ext=3,_conn=${conn}|`
    return { clientId, username, password: sign(deviceSecret, { clientId: id, deviceName, productKey, timestamp }, method).toUpperCase() }
  }
  const method = opts.signMethod ?? 'hmacsha1'
  const timestamp = opts.timestamp ?? String(Date.now())
  if (form === 'node-sdk') {
    const id = `${productKey}&${deviceName}_aliyun-iot-device-sdk-js`
    const clientId = `${id}|securemode=${secureMode},signmethod=${method},timestamp=${timestamp},lan=JS,_v=1.2.8|`
    return { clientId, username, password: sign(deviceSecret, { clientId: id, deviceName, productKey, timestamp }, method) }
  }
  const id = opts.id ?? `${productKey}.${deviceName}`
  const clientId = `${id}|securemode=${secureMode},signmethod=${method},timestamp=${timestamp}|`
  return { clientId, username, password: sign(deviceSecret, { clientId: id, deviceName, productKey, timestamp }, method) }
}
