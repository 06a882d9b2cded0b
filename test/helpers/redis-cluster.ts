// A Redis Cluster of the test's own: the starter is shared with the benchmarks (bench/redis-cluster.ts),
// which run without the test tree.
export { ownCluster, type ClusterOptions, type OwnCluster } from '../../bench/redis-cluster.js'
