// Live signed connections across several broker processes of one instance: the load generator's
// devices bootstrap, connect signed, and are held; goal 50,000 for 60 s with none dropped.
import { Deployment } from '../deployment.js'
import { startLoadtest } from '../loadtest/run.js'
import { liveFigures, type LiveOutcome } from '../figures.js'
import type { Figure } from '../report.js'
import type { ScenarioContext } from '../scenario.js'

const PK = 'a1benchLive'

export async function liveConnections (ctx: ScenarioContext): Promise<Figure[]> {
  const n = Number(process.env.BENCH_LIVE_DEVICES ?? (ctx.quick ? 5000 : 50_000))
  const nodes = ctx.quick ? 3 : 4
  const holdS = Number(process.env.BENCH_LIVE_HOLD_S ?? (ctx.quick ? 10 : 60))
  const workers = Math.max(1, Math.ceil(n / 12_500))
  const dep = await new Deployment([{ id: 'bench-live' }]).open()
  try {
    await dep.createProduct(PK, 'bench-live')
    const certs = await dep.createDevices(PK, 'bench-live', n)
    let file = dep.writeConfig()
    const brokers = await dep.start('homing-broker.ts', ['--config', file, '--instance', 'bench-live', '--nodes', String(nodes)], ctx.profileArgs('live-broker'))
    ;(dep.instances[0] as { endpointPort?: number }).endpointPort = brokers.ports.mqtt
    file = dep.writeConfig()
    const sidecar = await dep.start('homing-bootstrap.ts', ['--config', file])
    ctx.log(`  ${n} devices -> ${nodes} broker processes of one instance (one port, cluster round robin); ${workers} load-test workers; hold ${holdS} s`)
    const lt = await startLoadtest(certs, {
      url: `http://127.0.0.1:${sidecar.ports.http}`,
      workers,
      sources: Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`),
      ramp: 1500,
      inFlight: 600,
      publishRate: 0,
      keepalive: 1200,
      form: 'link-sdk-c',
      connectTimeout: 60_000,
      backoffBase: 1000,
      backoffCap: 15_000,
      mqttTls: false,
      reportEveryMs: 500
    })
    let outcome: LiveOutcome
    try {
      let last = 0
      const progress = setInterval(() => {
        const t = lt.total
        if (t.connected !== last) ctx.log(`  connected ${t.connected}/${n}`)
        last = t.connected
      }, 10_000)
      const all = await lt.until(t => t.connected >= n, 1_500_000)
      clearInterval(progress)
      const connectedAtHold = lt.total.connected
      ctx.log(`  ${all ? 'all' : 'only'} ${connectedAtHold} connected; holding ${holdS} s`)
      await new Promise(resolve => setTimeout(resolve, holdS * 1000))
      outcome = { target: n, nodes, holdS, connectedAtHold, summary: await lt.finish() }
    } finally {
      await lt.finish()
    }
    return liveFigures(outcome)
  } finally {
    await dep.close()
  }
}
