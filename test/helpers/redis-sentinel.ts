// A Sentinel group of the test's own: one master (test/helpers/redis-server.ts) watched by one
// sentinel on a free port, named "mymaster". `remove` stops both and removes their files.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { ownRedis } from './redis-server.js'

export interface OwnSentinel {
  /** The `redis` config form: `{ sentinels, name }`. */
  target: { sentinels: string[], name: string }
  remove: () => Promise<void>
}

async function answers (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.write('SENTINEL get-master-addr-by-name mymaster\r\n') })
    socket.once('data', chunk => { socket.destroy(); resolve(chunk.toString().startsWith('*2')) })
    socket.once('error', () => resolve(false))
  })
}

export async function ownSentinel (): Promise<OwnSentinel> {
  const master = await ownRedis()
  await master.start()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'homing-sentinel-'))
  const conf = join(dir, 'sentinel.conf')
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`)
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
  const remove = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
    await master.remove()
  }
  for (let i = 0; i < 200; i++) {
    if (await answers(port)) return { target: { sentinels: [`redis://127.0.0.1:${port}`], name: 'mymaster' }, remove }
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  await remove()
  throw new Error(`redis sentinel did not answer on ${port}`)
}
