// Every command the shared test Redis runs (MONITOR), for tests that count what a node sends.
// A socket of its own rather than ioredis's monitor(): on a busy shared Redis (another run's bench)
// ioredis can take the first monitored line for the answer to MONITOR and throw "Command queue
// state error" out of its socket handler.
import net from 'node:net'
import type { Test } from 'tap'
import { REDIS_URL } from './redis.js'
import { eventually, within, WAIT_MS } from './wait.js'

export interface RedisMonitor {
  /** Each command as Redis printed it: its arguments joined by spaces, unquoted. */
  commands: string[]
  /** Runs `GET <keyPrefix>marker:<name>` and resolves with its index in `commands` once seen. */
  mark: (name: string) => Promise<number>
}

export async function monitorRedis (t: Test, keyPrefix: string): Promise<RedisMonitor> {
  const url = new URL(REDIS_URL)
  const open = async (): Promise<net.Socket> => {
    const socket = net.connect(Number(url.port === '' ? 6379 : url.port), url.hostname)
    socket.on('error', () => {})
    await within(WAIT_MS, new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) }), 'a connection to Redis')
    return socket
  }
  const monitor = await open()
  const other = await open()
  const auth = url.password === '' ? '' : `AUTH ${decodeURIComponent(url.username === '' ? 'default' : url.username)} ${decodeURIComponent(url.password)}\r\n`
  t.teardown(() => { monitor.destroy(); other.destroy() })
  const commands: string[] = []
  let rest = ''
  /** The +OK of AUTH (when sent) and of MONITOR. */
  let oks = auth === '' ? 1 : 2
  const started = (): boolean => oks === 0
  monitor.setEncoding('utf8')
  monitor.on('data', (chunk: string) => {
    rest += chunk
    const lines = rest.split('\r\n')
    rest = lines.pop() ?? ''
    for (const line of lines) {
      if (line === '+OK' && !started()) oks--
      // `+<time> [<db> <client>] "<arg>" "<arg>" ...`
      else if (line.startsWith('+')) commands.push(unquote(line.slice(line.indexOf('] ') + 2)))
    }
  })
  monitor.write(`${auth}MONITOR\r\n`)
  other.write(auth)
  await eventually(started, 'MONITOR to start')
  other.setEncoding('utf8')
  other.on('data', () => {})
  const seen = (command: string): number => commands.findIndex(c => c.toUpperCase() === command.toUpperCase())
  return {
    commands,
    mark: async name => {
      const key = `${keyPrefix}marker:${name}`
      other.write(`GET ${key}\r\n`)
      await eventually(() => seen(`GET ${key}`) >= 0, `the monitor to see ${name}`)
      return seen(`GET ${key}`)
    }
  }
}

/** `"a" "b\"c"` -> `a b"c` (Redis escapes \\, \", \n, \r, \t and \xHH). */
function unquote (args: string): string {
  return [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => (m[1] ?? '').replace(/\\(x[0-9a-f]{2}|.)/g, (_all, e: string) => {
    if (e.startsWith('x') && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16))
    return ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e
  })).join(' ')
}
