// The shapes of the management API's answers that the console reads.
export interface Region { id: string, name: string, lat: number, lon: number }
/** Devices living at an instance, counted by the registry's indexes. */
export interface DeviceCounts { total: number, online: number, offline: number, inactive: number, disabled: number }
export interface Instance { id: string, region: string, endpoint: { host: string, port: number }, devices: DeviceCounts }
/** One page of a product's devices at an instance (GET /products/:pk/devices). */
export interface DevicePage { devices: Device[], total: number, counts: DeviceCounts, next: string | null }
export interface Product {
  productKey: string,
  instanceId: string,
  name: string,
  readOnly: boolean,
  sourceInstanceId: string | null,
  topicCategories: { topic: string, operation: string }[],
  createdAt: number,
  updatedAt: number,
  /** In the product listing: its devices at its instance. */
  devices?: DeviceCounts
}
export interface Device {
  productKey: string,
  deviceName: string,
  instanceId: string | null,
  originInstanceId: string | null,
  distributed: boolean,
  candidates: { region: string, instanceId: string }[] | null,
  status: 'inactive' | 'online' | 'offline' | 'disabled',
  enabled: boolean,
  active: boolean,
  online: boolean,
  onlineSince: number | null,
  firstConnectAt: number | null,
  lastConnectAt: number | null,
  lastDisconnectAt: number | null,
  ipAddress: string | null,
  tags: Record<string, string>,
  createdAt: number,
  placement: { instanceId: string, region: string, fallback: boolean, address: string | null, at: number } | null
}
export interface Job {
  id: string,
  status: 'initializing' | 'distributing' | 'distributed' | 'failed',
  method: string,
  policy: string,
  sourceInstanceId: string,
  targetInstanceId: string | null,
  targets: { region: string, instanceId: string }[],
  targetAccount: string | null,
  productKey: string,
  counts: { total: number, succeeded: number, failed: number, pending: number },
  pace: { rate: number | null, waveSize: number | null, wavePauseSeconds: number },
  settling: Settling,
  error: string | null,
  createdAt: number,
  updatedAt: number
}
/** docs/distribution.md, "Rate, waves and settling": the devices online when moved, and whether they came back. */
export interface Settling {
  notified: number,
  reconnected: number,
  away: number,
  state: 'moving' | 'settling' | 'settled' | 'timed-out',
  timeoutSeconds: number,
  stragglers: string[] | null
}
export type PreviewDevice =
  | { deviceName: string, ok: true, destination: string, candidates: string[], online: boolean, likely?: { instanceId: string, region: string, fallback: boolean, address: string | null } }
  | { deviceName: string, ok: false, code: string, message: string }
export interface Preview {
  dryRun: true,
  method: string,
  policy: string,
  sourceInstanceId: string,
  productKey: string,
  productTo: string[],
  counts: { total: number, ok: number, refused: number },
  devices: PreviewDevice[]
}
export interface JobRecord { productKey: string, deviceName: string, code: string, message: string }
/** One event of a device's timeline (GET .../devices/:dn/events), as the caller may see it: a move names only the caller's side. */
export type DeviceEvent = { at: number } & (
  | { kind: 'created' | 'disabled' | 'enabled', instanceId: string }
  | { kind: 'bootstrapped', instanceId: string, region: string, address: string | null, endpoint: { host: string, port: number } }
  | { kind: 'connected', instanceId: string, nodeId: string, address: string | null, transport: string, sdk: string, sdkVersion: string | null }
  | { kind: 'disconnected', instanceId: string, nodeId: string, reason: string }
  | { kind: 'notified' | 'answered', instanceId: string, nodeId: string }
  | { kind: 'moved', jobId?: string, from?: string, to?: string | null }
  | { kind: 'placed', instanceId: string, region: string, address: string | null, fallback: boolean, jobId: string | null }
  | { kind: 'tags', instanceId: string, count: number }
)
