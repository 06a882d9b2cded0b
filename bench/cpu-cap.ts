// Caps processes at a share of a core each, with the kernel's CFS bandwidth control: one cgroup per
// process, quota = share x period. The re-homing bench uses it to make the destination's broker
// nodes the part that limits the run on a machine with fewer cores than parts (2 here), so that
// what one more node adds shows. Needs root and a cgroup CPU controller: v1 (`/sys/fs/cgroup/cpu`)
// or v2 with `cpu` delegated to the root's children. Each process's CPU is still read from /proc.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const PERIOD_US = 100_000

interface Hierarchy {
  root: string
  limit: (dir: string, quotaUs: number) => void
}

function hierarchy (): Hierarchy {
  const v1 = '/sys/fs/cgroup/cpu'
  if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
    return {
      root: v1,
      limit: (dir, quotaUs) => {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US))
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs))
      }
    }
  }
  const v2 = '/sys/fs/cgroup'
  const delegated = existsSync(join(v2, 'cgroup.subtree_control')) && readFileSync(join(v2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')
  if (delegated) return { root: v2, limit: (dir, quotaUs) => writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${PERIOD_US}`) }
  throw new Error('bench: capping CPU needs a cgroup CPU controller (v1 /sys/fs/cgroup/cpu, or v2 with cpu in the root\'s cgroup.subtree_control) and root')
}

/** Puts each pid in a cgroup of its own limited to `cores` of a core; `release` moves them back and removes the groups. */
export function capCpu (pids: number[], cores: number, label: string): { release: () => void } {
  if (!(cores > 0)) throw new Error(`bench: a CPU cap must be above 0 cores, got ${cores}`)
  const h = hierarchy()
  const quotaUs = Math.max(1000, Math.round(cores * PERIOD_US))
  const dirs = pids.map((pid, i) => {
    const dir = join(h.root, `homing-bench-${label}-${process.pid}-${i}`)
    mkdirSync(dir, { recursive: true })
    h.limit(dir, quotaUs)
    writeFileSync(join(dir, 'cgroup.procs'), String(pid))
    return dir
  })
  return {
    release: () => {
      for (const dir of dirs) {
        // A process still in the group keeps it from being removed: hand it back to the root first.
        const left = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)
        for (const pid of left) {
          try { writeFileSync(join(h.root, 'cgroup.procs'), pid) } catch { /* exited meanwhile */ }
        }
        try { rmdirSync(dir) } catch { /* left for the next run's cleanup */ }
      }
    }
  }
}
