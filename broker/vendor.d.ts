// aedes-persistence-redis ships no types: the part of it broker/cluster.ts uses.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis'

  interface AedesPersistenceRedis {
    setup: (broker: unknown) => Promise<void>
    destroy: () => Promise<void>
  }

  function aedesPersistenceRedis (options: { conn: Redis, maxSessionDelivery?: number }): AedesPersistenceRedis
  export default aedesPersistenceRedis
}
