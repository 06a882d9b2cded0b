// docs/protocol.md, "CONNECT authentication": the three CONNECT fields that carry a device's identity.
import { SIGN_METHODS, type SignMethod } from './sign.js'

export interface ConnectIdentity {
  /** Everything before the first "|", trimmed; may be empty (signed as empty). */
  id: string
  params: Record<string, string>
  signMethod: SignMethod
  timestamp: string | undefined
  secureMode: string | undefined
  productKey: string
  deviceName: string
}

export class IdentityError extends Error {}

/** `<id>|<k>=<v>,<k>=<v>,...|` with white space and newlines tolerated around every part. */
export function parseClientId (clientId: string): { id: string, params: Record<string, string> } {
  const first = clientId.indexOf('|')
  const last = clientId.lastIndexOf('|')
  if (first < 0 || last === first) throw new IdentityError('clientId: expected "<id>|<key>=<value>,...|"')
  if (clientId.slice(last + 1).trim() !== '') throw new IdentityError('clientId: text after the last "|"')
  const id = clientId.slice(0, first).trim()
  const params: Record<string, string> = {}
  for (const entry of clientId.slice(first + 1, last).split(',')) {
    if (entry.trim() === '') continue
    const eq = entry.indexOf('=')
    const key = eq < 0 ? '' : entry.slice(0, eq).trim()
    if (key === '') throw new IdentityError(`clientId: "${entry.trim()}" is not <key>=<value>`)
    params[key] = entry.slice(eq + 1).trim()
  }
  return { id, params }
}

/** `<deviceName>&<productKey>`; a productKey never holds "&", so the last one splits. */
export function parseUsername (username: string): { deviceName: string, productKey: string } {
  const at = username.lastIndexOf('&')
  const deviceName = at < 0 ? '' : username.slice(0, at).trim()
  const productKey = at < 0 ? '' : username.slice(at + 1).trim()
  if (deviceName === '' || productKey === '') throw new IdentityError('username: expected "<deviceName>&<productKey>"')
  return { deviceName, productKey }
}

export function parseIdentity (clientId: string, username: string): ConnectIdentity {
  const { id, params } = parseClientId(clientId)
  const { deviceName, productKey } = parseUsername(username)
  const method = (params.signmethod ?? 'hmacmd5').toLowerCase()
  if (!(method in SIGN_METHODS)) throw new IdentityError(`clientId: unknown signmethod "${params.signmethod}"`)
  return {
    id,
    params,
    signMethod: method as SignMethod,
    timestamp: params.timestamp,
    secureMode: params.securemode,
    productKey,
    deviceName
  }
}

/** The SDK a clientId names, mapped to a small set (a bounded metrics label). */
export type SdkFamily = 'c' | 'python' | 'js' | 'other'

/**
 * The SDK family and version a device's clientId names (`_v`, `lan`; the Node SDK also in the id):
 * Link SDK for C `_v=sdk-c-4.1.0`, linkkit for C `lan=C`, Python linkkit `lan=Python`, the Node SDK `lan=JS`.
 */
export function sdkOf (identity: Pick<ConnectIdentity, 'id' | 'params'>): { sdk: SdkFamily, sdkVersion: string | undefined } {
  const version = identity.params._v?.slice(0, 64)
  const lan = (identity.params.lan ?? '').toLowerCase()
  const v = (version ?? '').toLowerCase()
  let sdk: SdkFamily = 'other'
  if (v.startsWith('sdk-c') || lan === 'c') sdk = 'c'
  else if (lan === 'python' || v.startsWith('sdk-python')) sdk = 'python'
  else if (lan === 'js' || lan === 'node' || identity.id.includes('sdk-js')) sdk = 'js'
  return { sdk, sdkVersion: version }
}
