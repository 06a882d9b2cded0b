// docs/protocol.md, "CONNECT authentication": MQTT CONNECT authentication, as plain awaited checks in order.
// Each check returns what the next one needs or throws a Refusal (its CONNACK code and a reason).
import { Redirects } from './redirect.js'
import { randomUUID } from 'node:crypto'
import type { AuthenticateError, Client, ConnectPacket } from 'aedes'
import { IdentityError, parseIdentity, sdkOf, type ConnectIdentity } from '../shared/client-id.js'
import { verify } from '../shared/sign.js'
import { StoreUnavailableError } from '../shared/store/store.js'
import type { Device } from '../shared/types.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { transportOf } from './listeners.js'
import { addressOf, hold, markOnline } from './presence.js'
import { announce } from './takeover.js'
import type { ConnectedVia } from './timeline.js'

/** CONNACK return codes of docs/protocol.md, "CONNECT authentication". */
export type RefusalCode = 2 | 3 | 4 | 5

/** A refused CONNECT: the CONNACK code and a reason for the log (never a secret). */
export class Refusal extends Error {
  constructor (readonly returnCode: RefusalCode, reason: string) {
    super(reason)
    this.name = 'Refusal'
  }
}

/** From the CONNECT packet, kept by preConnect (the authenticate hook only sees username and password). */
interface ConnectFields {
  clientId: string
  keepalive: number
}

/** What the log may say of an attempt, filled as the checks learn it: never the password. */
interface Known {
  identity?: ConnectIdentity
  session?: DeviceSession
}

export type PreConnect = (client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void) => void
export type Authenticate = (client: Client, username: Readonly<string | undefined>, password: Readonly<Buffer | undefined>,
  done: (err: AuthenticateError | null, ok: boolean | null) => void) => void

export function createAuthenticate (ctx: HomingContext): { preConnect: PreConnect, authenticate: Authenticate } {
  const connects = new WeakMap<Client, ConnectFields>()

  const preConnect: PreConnect = (client, packet, done) => {
    noteProtocol(ctx, client, packet)
    // The raw clientId: Aedes replaces an empty one with a generated id before authenticate runs.
    connects.set(client, { clientId: packet.clientId ?? '', keepalive: packet.keepalive ?? 0 })
    done(null, true)
  }

  const authenticate: Authenticate = (client, username, password, done) => {
    const connect = connects.get(client)
    connects.delete(client)
    const known: Known = {}
    admit(ctx, client, connect, username, password, known).then(
      () => {
        ctx.authenticated.add(client)
        done(null, true)
      },
      (err: unknown) => done(refuse(ctx, client, connect, known, err), false)
    )
  }

  return { preConnect, authenticate }
}

/** Every check in order; resolves once the device is held here and marked online. */
async function admit (ctx: HomingContext, client: Client, connect: ConnectFields | undefined,
  username: string | undefined, password: Buffer | undefined, known: Known): Promise<void> {
  await checkAddressLockout(ctx, client)
  checkKeepalive(ctx, connect?.keepalive ?? 0)
  const identity = known.identity = readIdentity(connect?.clientId ?? '', username ?? '')
  await checkDeviceLockout(ctx, identity)
  const device = await findDevice(ctx, identity)
  verifySignature(device, identity, password)
  if (ctx.movedDevices === 'redirect' && Redirects.applies(device, ctx.instanceId)) return redirect(ctx, client, identity)
  checkAssignment(ctx, device)
  const session = known.session = holdSession(ctx, client, identity)
  const via = connectedVia(client, identity)
  const replaced = await markDeviceOnline(ctx, session, device, via)
  if (replaced) await takeOver(ctx, session, connect)
  logAccepted(ctx, client, identity, session, via)
}

/** How the device connected: for its timeline event (written with the online mark), the metrics and the log. */
function connectedVia (client: Client, identity: ConnectIdentity): ConnectedVia {
  const { sdk, sdkVersion } = sdkOf(identity)
  return { transport: transportOf(client.conn) ?? 'other', sdk, sdkVersion }
}

/** docs/protocol.md, "Moved devices": accepted, never held nor marked online here; notified and let go (broker/redirect.ts). */
function redirect (ctx: HomingContext, client: Client, identity: ConnectIdentity): void {
  const { productKey, deviceName } = identity
  ctx.log.info({ productKey, deviceName, address: addressOf(client) }, 'moved device connected here: notified and redirected')
  ctx.background(ctx.redirects.start(client, productKey, deviceName).then(outcome => {
    ctx.log.info({ productKey, deviceName, outcome }, 'moved device redirected')
  }))
}

/** docs/devices.md, "What the broker logs": each accepted CONNECT at info, with how the device connected. */
function logAccepted (ctx: HomingContext, client: Client, identity: ConnectIdentity, session: DeviceSession, { transport, sdk, sdkVersion }: ConnectedVia): void {
  ctx.onDeviceConnect?.(sdk, transport)
  ctx.log.info({
    productKey: identity.productKey,
    deviceName: identity.deviceName,
    session: session.session,
    transport,
    secureMode: identity.secureMode,
    signMethod: identity.signMethod,
    sdk,
    sdkVersion,
    address: addressOf(client)
  }, 'device connected')
}

/**
 * docs/protocol.md, "MQTT": the brokers speak MQTT 3.1.1 (Aedes 1.x). Aedes answers a CONNECT of
 * another protocol level with CONNACK 1 (MQTT 5 included) and an MQTT 3.1 one with a clientId over
 * 23 characters (every signed one) with 2, after this hook and without a log line: say it here.
 */
function noteProtocol (ctx: HomingContext, client: Client, packet: ConnectPacket): void {
  const level = packet.protocolVersion
  const maxIdLength = (ctx.aedes as unknown as { maxClientsIdLength?: number }).maxClientsIdLength ?? 23
  let reason: string
  let returnCode: number
  if (level === 4) return
  if (level === 3) {
    if ((packet.clientId ?? '').length <= maxIdLength) return
    returnCode = 2
    reason = `MQTT 3.1 allows a clientId of at most ${maxIdLength} characters; this broker speaks MQTT 3.1.1`
  } else {
    returnCode = 1
    reason = `protocol level ${String(level)} (${level === 5 ? 'MQTT 5' : 'unknown'}) is not supported; this broker speaks MQTT 3.1.1`
  }
  const address = addressOf(client)
  ctx.refusals.note(`protocol ${String(level)} ${address ?? ''}`, 'connection refused', { address, protocolLevel: level, returnCode, reason })
}

function refuse (ctx: HomingContext, client: Client, connect: ConnectFields | undefined, known: Known, err: unknown): AuthenticateError {
  let refusal: Refusal
  if (err instanceof Refusal) refusal = err
  // docs/protocol.md, "CONNECT authentication": CONNACK 3 when the registry is unreachable.
  else if (err instanceof StoreUnavailableError) refusal = new Refusal(3, 'registry unavailable')
  else {
    ctx.log.error({ ...fields(connect, known), err }, 'authentication failed unexpectedly')
    refusal = new Refusal(3, 'internal error')
  }
  const address = addressOf(client)
  const device = known.identity === undefined ? null : deviceKey(known.identity)
  // Bad identity or credentials count against the device and the address; 3 and 5 are not the device's fault.
  if (refusal.returnCode === 2 || refusal.returnCode === 4) void ctx.connectLimits.failed(device, address)
  ctx.refusals.note(`${refusal.returnCode} ${device ?? address ?? ''}`, 'connection refused', { ...fields(connect, known), address, returnCode: refusal.returnCode, reason: refusal.message })
  return Object.assign(new Error(refusal.message), { returnCode: refusal.returnCode }) as unknown as AuthenticateError
}

/** What the log may say about an attempt: never the password. */
function fields (connect: ConnectFields | undefined, known: Known): Record<string, unknown> {
  return {
    clientId: connect?.clientId,
    productKey: known.identity?.productKey,
    deviceName: known.identity?.deviceName,
    session: known.session?.session
  }
}

const deviceKey = (identity: ConnectIdentity): string => `${identity.productKey}/${identity.deviceName}`

/** Too many failed CONNECTs from this address: refused with 3 for a short lockout (broker/connect-limits.ts). */
async function checkAddressLockout (ctx: HomingContext, client: Client): Promise<void> {
  if (!await ctx.connectLimits.addressLocked(addressOf(client))) return
  ctx.onLockout?.('address')
  throw new Refusal(3, 'too many failed CONNECTs from this address: try again later')
}

/** Too many failed CONNECTs of this device: refused with 3 for a short lockout, before the registry is read. */
async function checkDeviceLockout (ctx: HomingContext, identity: ConnectIdentity): Promise<void> {
  if (!await ctx.connectLimits.deviceLocked(deviceKey(identity))) return
  ctx.onLockout?.('device')
  throw new Refusal(3, 'too many failed CONNECTs of this device: try again later')
}

/**
 * docs/protocol.md, "CONNECT authentication": the Link SDK uses 1200 s; accept 30-1200 s. Outside the range (0, "no keepalive",
 * included) the CONNECT is refused with 2: a malformed request for this broker, and unlike 5 it
 * does not send the device back to bootstrap.
 */
function checkKeepalive (ctx: HomingContext, keepalive: number): void {
  const { min, max } = ctx.keepalive
  if (keepalive < min || keepalive > max) throw new Refusal(2, `keepalive ${keepalive}s outside ${min}-${max}s`)
}

/** docs/protocol.md, "CONNECT authentication": CONNACK 2 when the clientId or username cannot be parsed. */
function readIdentity (clientId: string, username: string): ConnectIdentity {
  try {
    return parseIdentity(clientId, username)
  } catch (err) {
    if (err instanceof IdentityError) throw new Refusal(2, err.message)
    throw err
  }
}

/** docs/protocol.md, "CONNECT authentication": CONNACK 4 when the device is unknown. */
async function findDevice (ctx: HomingContext, identity: ConnectIdentity): Promise<Device> {
  const device = await ctx.store.getDevice(identity.productKey, identity.deviceName)
  if (device === null) throw new Refusal(4, 'unknown device')
  return device
}

/** docs/protocol.md, "CONNECT authentication": hex of HMAC(deviceSecret, content), any case, compared in constant time; else 4. */
function verifySignature (device: Device, identity: ConnectIdentity, password: Buffer | undefined): void {
  if (password === undefined) throw new Refusal(4, 'no password')
  const signed = { clientId: identity.id, deviceName: identity.deviceName, productKey: identity.productKey, timestamp: identity.timestamp }
  if (!verify(device.deviceSecret, signed, identity.signMethod, password.toString('latin1'))) throw new Refusal(4, 'bad signature')
}

/** docs/protocol.md, "CONNECT authentication": CONNACK 5 when the device is known but assigned elsewhere, disabled, or not yet placed. */
function checkAssignment (ctx: HomingContext, device: Device): void {
  if (!device.enabled) throw new Refusal(5, 'device disabled')
  if (device.instanceId === null) throw new Refusal(5, 'device not yet placed')
  if (device.instanceId !== ctx.instanceId) throw new Refusal(5, 'device assigned to another instance')
}

/** Held before the registry mark, so a move that lands in between still finds the connection to kick. */
function holdSession (ctx: HomingContext, client: Client, identity: ConnectIdentity): DeviceSession {
  const session: DeviceSession = { client, productKey: identity.productKey, deviceName: identity.deviceName, session: randomUUID(), marked: false, closed: false }
  hold(ctx, session)
  return session
}

/** Resolves whether the registry's online mark named another connection, which this one replaced. */
async function markDeviceOnline (ctx: HomingContext, session: DeviceSession, device: Device, via: ConnectedVia): Promise<boolean> {
  const { result, replaced } = await markOnline(ctx, session, via, device)
  // The device moved away (or was disabled or deleted) after findDevice read it.
  if (result === 'not-assigned') throw new Refusal(5, 'device assigned to another instance')
  if (result === 'disabled') throw new Refusal(5, 'device disabled')
  if (result === 'not-found') throw new Refusal(4, 'unknown device')
  return replaced
}

/**
 * docs/protocol.md, "CONNECT authentication": this connection replaces every older one of the same identity, on every node. Only
 * when the registry's mark named another connection: the compare-and-set orders racing CONNECTs, so
 * of two the later one sees the earlier's mark and announces (and a device's ordinary CONNECT costs
 * no message to every node of the instance).
 */
async function takeOver (ctx: HomingContext, session: DeviceSession, connect: ConnectFields | undefined): Promise<void> {
  try {
    await announce(ctx, session)
  } catch (err) {
    // The emitter is down (so is the cluster's Redis): accept, the older connection cannot be told.
    ctx.log.warn({ clientId: connect?.clientId, productKey: session.productKey, deviceName: session.deviceName, session: session.session, err: (err as Error).message }, 'could not announce the takeover')
  }
}
