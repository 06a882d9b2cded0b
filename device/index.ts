// The device side of Homing (PROTOCOL 5): what a device does, for tests, load tests and real apps.
export { DeviceClient, type DeviceClientOptions, type ConnectedEvent, type RehomedEvent, type FailedAttempt, type HomeReason } from './client.js'
export { bootstrap, exchange, BootstrapError, type BootstrapOptions } from './bootstrap.js'
export { bootstrapRequest, readResponse, parseEndpoint, type BootstrapQuery, type Endpoint } from './bootstrap-wire.js'
export { credentials, LINK_SDK_TIMESTAMP, type Credentials, type ClientIdForm, type CredentialOptions } from './credentials.js'
export { connect, ConnectRefusedError, ConnectFailedError, type ConnectOptions } from './connect.js'
export { backoffDelay, type BackoffOptions } from './backoff.js'
