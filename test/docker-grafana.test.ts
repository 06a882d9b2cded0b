// docker/: the Grafana dashboard, its provisioning and the Prometheus config that docker/compose.yml
// wires in. Docker does not run here: the files are parsed, and every Homing metric a panel asks for
// must be one the code registers (a renamed metric fails here, not on an empty panel).
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { deviceMetrics } from '../shared/metrics/devices.js'
import { limitMetrics, Metrics, observeJobs } from '../shared/metrics/index.js'
import { MemoryStore } from '../shared/store/memory.js'

const read = (path: string): string => readFileSync(new URL(`../docker/${path}`, import.meta.url), 'utf8')
const yamlOf = (path: string): any => parse(read(path)) // any: the files are read by path, as Docker and Grafana read them

interface Panel { type: string, title: string, datasource?: { uid: string }, targets?: { expr: string, datasource?: { uid: string } }[] }

const dashboard = JSON.parse(read('grafana/dashboards/homing.json')) as { uid: string, title: string, panels: Panel[] }
const compose = yamlOf('compose.yml')

t.test('compose runs Prometheus with docker/prometheus.yml and Grafana with the provisioning and the dashboard', async t => {
  t.match(compose.services.prometheus.volumes, [/^\.\/prometheus\.yml:\/etc\/prometheus\/prometheus\.yml/])
  const grafana = compose.services.grafana
  t.ok(grafana.volumes.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'))
  t.ok(grafana.volumes.includes('./grafana/dashboards:/var/lib/grafana/dashboards:ro'))
  t.same([compose.services.prometheus.ports, grafana.ports], [['127.0.0.1:9090:9090'], ['127.0.0.1:3000:3000']], 'bound to the host\'s loopback only')
  const provider = yamlOf('grafana/provisioning/dashboards/homing.yml').providers[0]
  t.equal(provider.options.path, '/var/lib/grafana/dashboards')
})

t.test('Prometheus scrapes the sidecar and every broker node of compose on their metrics ports', async t => {
  const targets = yamlOf('prometheus.yml').scrape_configs.flatMap((c: { static_configs: { targets: string[] }[] }) => c.static_configs.flatMap(s => s.targets))
  const brokers = Object.keys(compose.services).filter(name => compose.services[name].command?.[0] === 'broker')
  t.same(targets.sort(), ['bootstrap:8080', ...brokers.map(b => `${b}:9100`)].sort())
})

t.test('every panel reads the provisioned datasource, and every homing_ metric it asks for exists', async t => {
  const [datasource] = yamlOf('grafana/provisioning/datasources/prometheus.yml').datasources
  t.equal(datasource.url, 'http://prometheus:9090')
  const metrics = new Metrics()
  deviceMetrics(metrics)
  limitMetrics(metrics)
  observeJobs(metrics, new MemoryStore())
  const known = new Set((await metrics.registry.getMetricsAsJSON()).flatMap(m => String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name]))
  const queries = dashboard.panels.filter(p => p.type !== 'row')
  t.ok(queries.length >= 10, 'the dashboard has its panels')
  for (const panel of queries) {
    t.equal(panel.datasource?.uid, datasource.uid, `${panel.title}: the provisioned datasource`)
    for (const target of panel.targets ?? []) {
      for (const name of target.expr.match(/\b(?:homing|process|nodejs)_[a-z0-9_]+/g) ?? []) {
        t.ok(known.has(name), `${panel.title}: ${name} is a metric Homing registers`)
      }
    }
  }
})
