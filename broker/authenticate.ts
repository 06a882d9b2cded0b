// docs/protocol.md, "CONNECT authentication": MQTT CONNECT authentication, as a list of named steps (like Aedes' connectActions).
import { randomUUID } from 'node:crypto'
import type { AuthenticateError, Client, ConnectPacket } from 'aedes'
import { IdentityError, parseIdentity as parse, type ConnectIdentity } from '../shared/client-id.js'
import { verify } from '../shared/sign.js'
import { StoreUnavailableError } from '../shared/store/store.js'
import type { Device } from '../shared/types.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { addressOf, hold, markOnline } from './presence.js'
import { announce } from './takeover.js'

/** CONNACK return codes of docs/protocol.md, "CONNECT authentication". */
export type RefusalCode = 2 | 3 | 4 | 5

/** A refused CONNECT: the CONNACK code and a reason for the log (never a secret). */
export class Refusal extends Error {
  constructor (readonly returnCode: RefusalCode, reason: string) {
    super(reason)
    this.name = 'Refusal'
  }
}

interface Attempt {
  client: Client
  /** From the CONNECT packet, kept by preConnect (the authenticate hook only sees username and password). */
  connect: { clientId: string, keepalive: number } | undefined
  username: string | undefined
  password: Buffer | undefined
  identity?: ConnectIdentity
  device?: Device
  session?: DeviceSession
  /** The registry's online mark named another connection when this one took it. */
  replaced?: boolean
}

type Step = (ctx: HomingContext, a: Attempt) => Promise<void>

const connectSteps: Step[] = [
  checkAddressLockout,
  checkKeepalive,
  parseIdentity,
  checkDeviceLockout,
  findDevice,
  verifySignature,
  checkAssignment,
  holdSession,
  markDeviceOnline,
  takeOver
]

export type PreConnect = (client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void) => void
export type Authenticate = (client: Client, username: Readonly<string | undefined>, password: Readonly<Buffer | undefined>,
  done: (err: AuthenticateError | null, ok: boolean | null) => void) => void

export function createAuthenticate (ctx: HomingContext): { preConnect: PreConnect, authenticate: Authenticate } {
  const connects = new WeakMap<Client, Attempt['connect']>()

  const preConnect: PreConnect = (client, packet, done) => {
    // The raw clientId: Aedes replaces an empty one with a generated id before authenticate runs.
    connects.set(client, { clientId: packet.clientId ?? '', keepalive: packet.keepalive ?? 0 })
    done(null, true)
  }

  const authenticate: Authenticate = (client, username, password, done) => {
    const attempt: Attempt = { client, connect: connects.get(client), username, password }
    connects.delete(client)
    run(ctx, attempt).then(
      () => {
        ctx.authenticated.add(client)
        done(null, true)
      },
      (err: unknown) => done(refuse(ctx, attempt, err), false)
    )
  }

  return { preConnect, authenticate }
}

async function run (ctx: HomingContext, attempt: Attempt): Promise<void> {
  for (const step of connectSteps) await step(ctx, attempt)
  ctx.log.debug(fields(attempt), 'device connected')
}

function refuse (ctx: HomingContext, a: Attempt, err: unknown): AuthenticateError {
  let refusal: Refusal
  if (err instanceof Refusal) refusal = err
  // docs/protocol.md, "CONNECT authentication": CONNACK 3 when the registry is unreachable.
  else if (err instanceof StoreUnavailableError) refusal = new Refusal(3, 'registry unavailable')
  else {
    ctx.log.error({ ...fields(a), err }, 'authentication failed unexpectedly')
    refusal = new Refusal(3, 'internal error')
  }
  const address = addressOf(a.client)
  const device = a.identity === undefined ? null : deviceKey(a.identity)
  // Bad identity or credentials count against the device and the address; 3 and 5 are not the device's fault.
  if (refusal.returnCode === 2 || refusal.returnCode === 4) void ctx.connectLimits.failed(device, address)
  ctx.refusals.note(`${refusal.returnCode} ${device ?? address ?? ''}`, 'connection refused', { ...fields(a), address, returnCode: refusal.returnCode, reason: refusal.message })
  return Object.assign(new Error(refusal.message), { returnCode: refusal.returnCode }) as unknown as AuthenticateError
}

/** What the log may say about an attempt: never the password. */
function fields (a: Attempt): Record<string, unknown> {
  return {
    clientId: a.connect?.clientId,
    productKey: a.identity?.productKey,
    deviceName: a.identity?.deviceName,
    session: a.session?.session
  }
}

const deviceKey = (identity: ConnectIdentity): string => `${identity.productKey}/${identity.deviceName}`

/** Too many failed CONNECTs from this address: refused with 3 for a short lockout (broker/connect-limits.ts). */
async function checkAddressLockout (ctx: HomingContext, a: Attempt): Promise<void> {
  if (!await ctx.connectLimits.addressLocked(addressOf(a.client))) return
  ctx.onLockout?.('address')
  throw new Refusal(3, 'too many failed CONNECTs from this address: try again later')
}

/** Too many failed CONNECTs of this device: refused with 3 for a short lockout, before the registry is read. */
async function checkDeviceLockout (ctx: HomingContext, a: Attempt): Promise<void> {
  if (!await ctx.connectLimits.deviceLocked(deviceKey(a.identity as ConnectIdentity))) return
  ctx.onLockout?.('device')
  throw new Refusal(3, 'too many failed CONNECTs of this device: try again later')
}

/**
 * docs/protocol.md, "CONNECT authentication": the Link SDK uses 1200 s; accept 30-1200 s. Outside the range (0, "no keepalive",
 * included) the CONNECT is refused with 2: a malformed request for this broker, and unlike 5 it
 * does not send the device back to bootstrap.
 */
async function checkKeepalive (ctx: HomingContext, a: Attempt): Promise<void> {
  const keepalive = a.connect?.keepalive ?? 0
  const { min, max } = ctx.keepalive
  if (keepalive < min || keepalive > max) throw new Refusal(2, `keepalive ${keepalive}s outside ${min}-${max}s`)
}

/** docs/protocol.md, "CONNECT authentication": CONNACK 2 when the clientId or username cannot be parsed. */
async function parseIdentity (_ctx: HomingContext, a: Attempt): Promise<void> {
  try {
    a.identity = parse(a.connect?.clientId ?? '', a.username ?? '')
  } catch (err) {
    if (err instanceof IdentityError) throw new Refusal(2, err.message)
    throw err
  }
}

/** docs/protocol.md, "CONNECT authentication": CONNACK 4 when the device is unknown. */
async function findDevice (ctx: HomingContext, a: Attempt): Promise<void> {
  const { productKey, deviceName } = a.identity as ConnectIdentity
  const device = await ctx.store.getDevice(productKey, deviceName)
  if (device === null) throw new Refusal(4, 'unknown device')
  a.device = device
}

/** docs/protocol.md, "CONNECT authentication": hex of HMAC(deviceSecret, content), any case, compared in constant time; else 4. */
async function verifySignature (_ctx: HomingContext, a: Attempt): Promise<void> {
  const identity = a.identity as ConnectIdentity
  const device = a.device as Device
  if (a.password === undefined) throw new Refusal(4, 'no password')
  const signed = { clientId: identity.id, deviceName: identity.deviceName, productKey: identity.productKey, timestamp: identity.timestamp }
  if (!verify(device.deviceSecret, signed, identity.signMethod, a.password.toString('latin1'))) throw new Refusal(4, 'bad signature')
}

/** docs/protocol.md, "CONNECT authentication": CONNACK 5 when the device is known but assigned elsewhere, disabled, or not yet placed. */
async function checkAssignment (ctx: HomingContext, a: Attempt): Promise<void> {
  const device = a.device as Device
  if (!device.enabled) throw new Refusal(5, 'device disabled')
  if (device.instanceId === null) throw new Refusal(5, 'device not yet placed')
  if (device.instanceId !== ctx.instanceId) throw new Refusal(5, 'device assigned to another instance')
}

/** Held before the registry mark, so a move that lands in between still finds the connection to kick. */
async function holdSession (ctx: HomingContext, a: Attempt): Promise<void> {
  const { productKey, deviceName } = a.identity as ConnectIdentity
  a.session = { client: a.client, productKey, deviceName, session: randomUUID(), marked: false, closed: false }
  hold(ctx, a.session)
}

async function markDeviceOnline (ctx: HomingContext, a: Attempt): Promise<void> {
  const { result, replaced } = await markOnline(ctx, a.session as DeviceSession, a.device)
  a.replaced = replaced
  // The device moved away (or was disabled or deleted) after findDevice read it.
  if (result === 'not-assigned') throw new Refusal(5, 'device assigned to another instance')
  if (result === 'disabled') throw new Refusal(5, 'device disabled')
  if (result === 'not-found') throw new Refusal(4, 'unknown device')
}

/**
 * docs/protocol.md, "CONNECT authentication": this connection replaces every older one of the same identity, on every node. Only
 * when the registry's mark named another connection: the compare-and-set orders racing CONNECTs, so
 * of two the later one sees the earlier's mark and announces (and a device's ordinary CONNECT costs
 * no message to every node of the instance).
 */
async function takeOver (ctx: HomingContext, a: Attempt): Promise<void> {
  if (a.replaced !== true) return
  try {
    await announce(ctx, a.session as DeviceSession)
  } catch (err) {
    // The emitter is down (so is the cluster's Redis): accept, the older connection cannot be told.
    ctx.log.warn({ ...fields(a), err: (err as Error).message }, 'could not announce the takeover')
  }
}
