// The registry parts (this repository's shared/ folder) that the chaos run seeds and reads, imported
// in one place for bench/chaos/.
export { newDevice } from '../shared/device.js'
export { allDeviceNames } from '../shared/store/device-pages.js'
export { openRedisStore } from '../shared/store/redis.js'
export type { Store } from '../shared/store/store.js'
export type { Certificate, Device } from '../shared/types.js'
