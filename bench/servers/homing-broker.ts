// Under test: `--nodes` broker nodes of one instance (startBrokerNode over Redis). One node runs in
// this process; several run as cluster workers sharing one port, as nodes behind a load balancer.
// The primary accepts and hands each socket to a worker in turn (Node's round-robin), as a load
// balancer would. `--workers always`: a single node runs as a worker too, behind the same primary, so
// that 1 and 2 nodes differ in nothing else (what the re-homing bench's CPU cap on the nodes needs).
import cluster from 'node:cluster'
import { createServer, type AddressInfo } from 'node:net'
import { loadConfig } from '../../shared/config.js'
import { startBrokerNode } from '../../broker/node.js'
import { openStore } from '../../shared/store/index.js'
import { applyBrokerExperiments, applyExperiments } from './experiment.js'
import { arg, serve, type ServerMessage } from './serve.js'

const configFile = arg('config')
const instanceId = arg('instance')
const nodes = Number(arg('nodes', '1'))
const alwaysWorkers = arg('workers', 'when-several') === 'always'

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise(resolve => s.close(resolve))
  return port
}

async function node (port: number, index: number) {
  const config = loadConfig(configFile)
  if (process.env.BENCH_AUTOPIPELINE !== '1') {
    const node = await startBrokerNode({ config, instanceId, nodeId: `${instanceId}-bench-${index}`, ports: { mqtt: port } })
    applyBrokerExperiments(node.aedes)
    return node
  }
  const store = await openStore(config)
  applyExperiments(store)
  const node = await startBrokerNode({ config, instanceId, nodeId: `${instanceId}-bench-${index}`, store, ports: { mqtt: port } })
  applyBrokerExperiments(node.aedes)
  return { ...node, close: async () => { await node.close(); await store.close() } }
}

if (cluster.isWorker) {
  const index = Number(process.env.BENCH_NODE_INDEX)
  const port = Number(process.env.BENCH_PORT)
  // The primary may be gone when a closing node tells it so: nothing left to tell.
  cluster.worker?.on('error', () => {})
  node(port, index).then(n => {
    process.on('message', (m: { type: string }) => {
      if (m.type === 'measure') {
        const gc = (globalThis as { gc?: () => void }).gc
        gc?.()
        gc?.()
        const cpu = process.cpuUsage()
        process.send?.({ type: 'measured', rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, cpuUs: cpu.user + cpu.system } satisfies ServerMessage)
      } else if (m.type === 'stop') {
        n.close().finally(() => process.exit(0))
      }
    })
    process.send?.({ type: 'ready', ports: { mqtt: n.ports.mqtt }, pid: process.pid } satisfies ServerMessage)
  }, (err: unknown) => {
    process.stderr.write(`homing-broker node ${index}: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  })
} else if (nodes === 1 && !alwaysWorkers) {
  serve('homing-broker', async () => {
    const n = await node(0, 0)
    return { ports: { mqtt: n.ports.mqtt }, close: n.close }
  })
} else {
  serve('homing-broker', async () => {
    const port = await freePort()
    cluster.setupPrimary({ execArgv: process.execArgv })
    const workers = Array.from({ length: nodes }, (_, i) => cluster.fork({ BENCH_NODE_INDEX: String(i), BENCH_PORT: String(port) }))
    await Promise.all(workers.map(w => new Promise<void>((resolve, reject) => {
      w.on('message', (m: ServerMessage) => { if (m.type === 'ready') resolve() })
      w.on('exit', code => reject(new Error(`broker node exited with ${code}`)))
    })))
    // The primary's "measure" is the sum over the nodes (the primary only hands sockets over).
    process.on('message', (m: { type: string }) => {
      if (m.type !== 'measure') return
      void Promise.all(workers.map(w => new Promise<{ rss: number, cpuUs: number }>(resolve => {
        const on = (r: ServerMessage): void => {
          if (r.type !== 'measured') return
          w.off('message', on)
          resolve(r)
        }
        w.on('message', on)
        w.send({ type: 'measure' })
      }))).then(all => {
        const own = process.cpuUsage()
        process.send?.({
          type: 'measured',
          rss: all.reduce((a, b) => a + b.rss, process.memoryUsage().rss),
          heapUsed: 0,
          cpuUs: all.reduce((a, b) => a + b.cpuUs, own.user + own.system)
        } satisfies ServerMessage)
      })
    })
    return {
      ports: { mqtt: port, ...Object.fromEntries(workers.map((w, i) => [`pid${i}`, w.process.pid ?? 0])) },
      close: async () => {
        await Promise.all(workers.map(w => new Promise<void>(resolve => {
          w.once('exit', () => resolve())
          w.send({ type: 'stop' })
          setTimeout(() => w.kill('SIGKILL'), 8000).unref()
        })))
      }
    }
  })
}
