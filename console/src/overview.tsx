// Instances and regions with online / total devices, a world map of the regions with the devices placed
// there by nearest access, and the connections per instance over time.
import { useCallback } from 'preact/hooks'
import { ConnectionsChart } from './chart'
import { loadFleet, countsByInstance, MAP_SAMPLE, type Fleet } from './fleet'
import { useInterval, useLoad } from './hooks'
import { Page, Status } from './ui'
import { WorldMap, type Flow, type RegionCounts } from './world-map'

export function Overview () {
  const fleet = useLoad(loadFleet, [])
  const reload = useCallback(() => fleet.reload(), [fleet.reload])
  useInterval(reload, fleet.loading ? null : 15_000)
  return (
    <Page title='Instances' actions={<button type='button' onClick={fleet.reload}>Refresh</button>}>
      <Status loaded={fleet}>{f => (
        <>
          <OverviewBody fleet={f} />
          <h2>Connections over time</h2>
          <ConnectionsChart instances={f.instances.map(i => i.id)} />
        </>
      )}
      </Status>
    </Page>
  )
}

function OverviewBody ({ fleet }: { fleet: Fleet }) {
  const counts = countsByInstance(fleet)
  const regionOf = new Map(fleet.instances.map(i => [i.id, i.region]))
  const byRegion = new Map<string, RegionCounts>(fleet.regions.map(r => [r.id, { online: 0, total: 0, placed: 0, fallback: 0 }]))
  for (const i of fleet.instances) {
    const c = counts.get(i.id)
    const r = byRegion.get(i.region)
    if (c !== undefined && r !== undefined) { r.online += c.online; r.total += c.total }
  }
  const flows = new Map<string, Flow>()
  for (const d of fleet.devices) {
    if (d.placement === null) continue
    const r = byRegion.get(d.placement.region)
    if (r !== undefined) { r.placed++; if (d.placement.fallback) r.fallback++ }
    const from = d.originInstanceId === null ? undefined : regionOf.get(d.originInstanceId)
    if (from === undefined) continue
    const key = `${from}>${d.placement.region}`
    const flow = flows.get(key) ?? { from, to: d.placement.region, devices: 0 }
    flow.devices++
    flows.set(key, flow)
  }
  return (
    <>
      <table class='grid' aria-label='Instances'>
        <thead><tr><th scope='col'>Instance</th><th scope='col'>Region</th><th scope='col'>Endpoint</th><th scope='col'>Online / total</th></tr></thead>
        <tbody>
          {fleet.instances.map(i => {
            const c = counts.get(i.id) ?? { online: 0, total: 0 }
            return (
              <tr key={i.id} data-instance={i.id}>
                <td>{i.id}</td><td>{i.region}</td><td><code>{i.endpoint.host}:{i.endpoint.port}</code></td>
                <td class='count'>{c.online} / {c.total}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
      <h2>Regions</h2>
      <table class='grid' aria-label='Regions'>
        <thead><tr><th scope='col'>Region</th><th scope='col'>Name</th><th scope='col'>Online / total</th><th scope='col'>Placed by nearest access</th></tr></thead>
        <tbody>
          {fleet.regions.map(r => {
            const c = byRegion.get(r.id) ?? { online: 0, total: 0, placed: 0, fallback: 0 }
            return <tr key={r.id} data-region={r.id}><td>{r.id}</td><td>{r.name}</td><td class='count'>{c.online} / {c.total}</td><td class='count'>{c.placed}</td></tr>
          })}
        </tbody>
      </table>
      {fleet.sampled && <p class='note' role='note'>Placements are counted over the first {MAP_SAMPLE.toLocaleString()} devices listed; online and total counts are the whole fleet's.</p>}
      <WorldMap regions={fleet.regions} counts={byRegion} flows={[...flows.values()]} />
    </>
  )
}
