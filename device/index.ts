// The device side of Homing (docs/protocol.md, "The device application"): what a device does, for tests, load tests and real apps.
//
//   const device = new DeviceClient({
//     certificate: { productKey: 'a1pk', deviceName: 'dev1', deviceSecret: '...' },
//     bootstrapUrl: 'http://bootstrap.example.com:8080'   // the one thing a device is told
//   })
//   device.on('connected', e => console.log('home is', e.endpoint))
//   device.on('rehomed', e => console.log('moved to', e.to, 'in', e.ms, 'ms'))
//   await device.start()                 // bootstrap -> signed CONNECT (Link SDK for C form)
//   await device.publish(`/sys/a1pk/dev1/thing/event/property/post`, '{"id":"1","params":{}}')
//   await device.stop()
//
// On notify it answers notify_reply with the same id, bootstraps again and connects at the new
// home; on a refused or lost connection it bootstraps again after a jittered, capped back-off
// that honours Retry-After. mqtt.js's own reconnect is off.
export { DeviceClient, type DeviceClientOptions, type ConnectedEvent, type RehomedEvent, type FailedAttempt, type HomeReason } from './client.js'
export { bootstrap, exchange, BootstrapError, type BootstrapOptions } from './bootstrap.js'
export { bootstrapRequest, readResponse, parseEndpoint, type BootstrapQuery, type Endpoint } from './bootstrap-wire.js'
export { credentials, LINK_SDK_TIMESTAMP, type Credentials, type ClientIdForm, type CredentialOptions } from './credentials.js'
export { connect, ConnectRefusedError, ConnectFailedError, type ConnectOptions } from './connect.js'
export { backoffDelay, type BackoffOptions } from './backoff.js'
