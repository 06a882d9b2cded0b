// `homing <command>` as an operator starts it: a child process whose JSON log lines are read as they
// come, with its exit code and everything it printed.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { within } from './wait.js'

/** A start of the bin loads every part's TypeScript through tsx: seconds on a loaded machine. */
export const START_MS = 30_000

export interface HomingProcess {
  child: ChildProcessWithoutNullStreams
  /** Parsed stdout lines so far. */
  entries: Record<string, any>[] // any: log entries are read by path in the tests
  /** stdout and stderr so far, as printed. */
  output: () => string
  stderr: () => string
  /** Resolves with the first entry (from the start) whose msg is `msg` and that `match` accepts; fails after `ms`. */
  logged: (msg: string, match?: (entry: Record<string, any>) => boolean, ms?: number) => Promise<Record<string, any>> // any: as above
  /** Every wait is bounded: unbounded only for a caller that wraps it (see `exit`). */
  exited: Promise<number | null>
  /** The exit code, or a failure naming the process and what it printed after `ms`. */
  exit: (ms?: number) => Promise<number | null>
  /** SIGKILL if still running (teardown). */
  kill: () => void
}

export function startHoming (args: string[], env: Record<string, string> = {}): HomingProcess {
  const child = spawn(process.execPath, ['bin/homing.js', ...args], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end()
  const entries: Record<string, any>[] = [] // any: as above
  const waiters: (() => void)[] = []
  let output = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); output += chunk.toString() })
  createInterface({ input: child.stdout }).on('line', line => {
    output += line + '\n'
    try {
      entries.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      return
    }
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => {
    for (const wake of waiters.splice(0)) wake()
    resolve(code)
  }))
  const logged = async (msg: string, match: (entry: Record<string, any>) => boolean = () => true, ms = START_MS): Promise<Record<string, any>> => { // any: as above
    const deadline = Date.now() + ms
    for (;;) {
      const found = entries.find(e => e.msg === msg && match(e))
      if (found !== undefined) return found
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${String(child.exitCode ?? child.signalCode)}) before logging "${msg}":\n${output}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`homing ${args[0] ?? ''} did not log "${msg}" within ${ms} ms:\n${output}`)
      await within(left, new Promise<void>(resolve => waiters.push(resolve)), `homing ${args[0] ?? ''} to log "${msg}"`).catch(() => {})
    }
  }
  const exit = (ms = START_MS): Promise<number | null> => within(ms, exited, () => `homing ${args.join(' ')} to exit; it printed:\n${output}`)
  return {
    child,
    entries,
    output: () => output,
    stderr: () => stderr,
    logged,
    exited,
    exit,
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
  }
}
