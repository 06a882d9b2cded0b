// A Redis of the test's own, on a free port, that can be stopped and started again on the same port
// (the machine's Redis on 6379 is shared and never touched): the benchmarks' starter, bench/redis-server.ts.
export { ownRedis, type OwnRedis } from '../../bench/redis-server.js'
