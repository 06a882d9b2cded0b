// `homing registry reindex --config FILE`: rebuilds the registry's device indexes from the records and
// moves records of the layout before buckets to theirs (docs/operations.md, "Rebuilding the device
// indexes"). Safe while Homing runs, and to run again.
import { Option, type Command } from 'commander'

export function registerRegistry (program: Command): void {
  const registry = program.command('registry').description('maintenance of the shared Redis registry')
  registry.command('reindex')
    .description('rebuild every device index from the device records; move records of the older key layout')
    .addOption(new Option('--config <file>', 'configuration file (its redis and keyPrefix)').env('HOMING_CONFIG').makeOptionMandatory())
    .action(async (opts: { config: string }) => {
      const [{ ConfigError, loadConfig }, { openRedisStore }, { reindexRegistry }] = await Promise.all([
        import('../../shared/config.js'), import('../../shared/store/redis.js'), import('../../shared/store/reindex.js')
      ])
      const config = loadConfig(opts.config)
      if (config.redis === undefined) throw new ConfigError('redis: "homing registry reindex" works on the shared registry: set "redis" in the config or REDIS_URL')
      const store = await openRedisStore({ redis: config.redis, keyPrefix: config.keyPrefix, commandTimeoutMs: 30_000 })
      try {
        const report = await reindexRegistry(store, config.keyPrefix)
        process.stdout.write(`moved from the old layout: ${report.migrated}; records indexed: ${report.indexed}; stale index entries removed: ${report.removed}; old name sets removed: ${report.legacySets}\n`)
      } finally {
        await store.close()
      }
    })
}
