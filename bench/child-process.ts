// Forks a module as a child process with IPC: load generators and servers under test run in their
// own processes, so each is measured on its own. A .ts file runs through tsx (development, tests,
// the bench harness); a .js file (the compiled `homing loadtest` in dist/) runs as it is, so the
// built CLI needs no loader.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** `./name.ts` beside `from` when `from` is TypeScript, `./name.js` when it is compiled. */
export function sibling (name: string, from: string): URL {
  return new URL(`./${name}${from.endsWith('.ts') ? '.ts' : '.js'}`, from)
}

export interface ForkOptions {
  args?: string[]
  /** Extra node flags, e.g. --cpu-prof, --expose-gc, --max-old-space-size=... */
  nodeArgs?: string[]
  env?: NodeJS.ProcessEnv
  /** Keep the child's stdout/stderr (default: inherited). */
  silent?: boolean
}

export function forkTs (file: URL | string, o: ForkOptions = {}): ChildProcess {
  const path = file instanceof URL ? fileURLToPath(file) : file
  const child = fork(path, o.args ?? [], {
    execArgv: [...(path.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : []), ...(o.nodeArgs ?? [])],
    env: o.env ?? process.env,
    stdio: o.silent === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced'
  })
  // A send to a child that has just exited reports here; its exit is what the callers watch.
  child.on('error', () => {})
  return child
}

/** The first IPC message of `type` from the child (rejects if it exits first). */
export function nextMessage<T extends { type: string }> (child: ChildProcess, type: T['type'], timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type) {
        cleanup()
        resolve(m as T)
      }
    }
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup()
      reject(new Error(`child exited (${signal ?? code}) before "${type}"`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no "${type}" from child within ${timeoutMs} ms`))
    }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/** Asks the child to end, and kills it if it has not within `graceMs`. */
export async function endChild (child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  // The child may close its channel between the check and the send (it was already leaving): the
  // callback takes that error, and the kill below still ends a child that did not hear us.
  if (child.connected) child.send({ type: 'stop' }, err => { if (err !== null) child.kill('SIGTERM') })
  else child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
