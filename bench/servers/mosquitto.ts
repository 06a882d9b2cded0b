// Baseline: Mosquitto, anonymous, on a free port of its own (never the system's 1883).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function mosquittoInstalled (): boolean {
  return spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined
}

export interface Mosquitto {
  port: number
  pid: number
  stop: () => Promise<void>
}

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

/** `mosquitto -c FILE` with one anonymous listener on 127.0.0.1:PORT and no persistence. */
export async function startMosquitto (): Promise<Mosquitto> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'homing-bench-mosquitto-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type none\nmax_connections -1\n`)
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
  // Ready when the port answers.
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>(resolve => {
      const s = connect({ port, host: '127.0.0.1' })
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (up) break
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return {
    port,
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** RSS (bytes) and CPU used so far (µs) of a process, from /proc (Linux). */
export function procUsage (pid: number): { rss: number, cpuUs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime
  const rssPages = Number(fields[21])
  return { rss: rssPages * 4096, cpuUs: ticks * (1_000_000 / 100) }
}
