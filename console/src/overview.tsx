// Instances and regions with online / total devices, and a map of the regions with the devices placed
// there by nearest access.
import { useCallback } from 'preact/hooks'
import { ConnectionsChart, sample } from './chart'
import { loadFleet, countsByInstance, type Fleet } from './fleet'
import { useInterval, useLoad } from './hooks'
import { Page, Status } from './ui'

export function Overview () {
  const fleet = useLoad(async () => ({ fleet: await loadFleet(), at: Date.now() }), [])
  const reload = useCallback(() => fleet.reload(), [fleet.reload])
  useInterval(reload, fleet.loading ? null : 15_000)
  return (
    <Page title='Instances' actions={<button type='button' onClick={fleet.reload}>Refresh</button>}>
      <Status loaded={fleet}>{({ fleet: f, at }) => (
        <>
          <OverviewBody fleet={f} />
          <h2>Connections over time</h2>
          <ConnectionsChart instances={f.instances.map(i => i.id)} data={sample(f, at)} />
        </>
      )}
      </Status>
    </Page>
  )
}

function OverviewBody ({ fleet }: { fleet: Fleet }) {
  const counts = countsByInstance(fleet)
  const byRegion = new Map(fleet.regions.map(r => [r.id, { online: 0, total: 0 }]))
  for (const i of fleet.instances) {
    const c = counts.get(i.id)
    const r = byRegion.get(i.region)
    if (c !== undefined && r !== undefined) { r.online += c.online; r.total += c.total }
  }
  const placed = new Map<string, number>()
  for (const d of fleet.devices) if (d.placement !== null) placed.set(d.placement.region, (placed.get(d.placement.region) ?? 0) + 1)
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
            const c = byRegion.get(r.id) ?? { online: 0, total: 0 }
            return <tr key={r.id}><td>{r.id}</td><td>{r.name}</td><td class='count'>{c.online} / {c.total}</td><td class='count'>{placed.get(r.id) ?? 0}</td></tr>
          })}
        </tbody>
      </table>
      <WorldMap fleet={fleet} byRegion={byRegion} placed={placed} />
    </>
  )
}

/** An equirectangular map: a graticule, and one mark per region sized by its devices. */
function WorldMap ({ fleet, byRegion, placed }: { fleet: Fleet, byRegion: Map<string, { online: number, total: number }>, placed: Map<string, number> }) {
  const x = (lon: number): number => (lon + 180) * 2
  const y = (lat: number): number => (90 - lat) * 2
  const lines = []
  for (let lon = -180; lon <= 180; lon += 30) lines.push(<line key={`lon${lon}`} x1={x(lon)} y1={0} x2={x(lon)} y2={360} />)
  for (let lat = -90; lat <= 90; lat += 30) lines.push(<line key={`lat${lat}`} x1={0} y1={y(lat)} x2={720} y2={y(lat)} />)
  return (
    <figure class='map'>
      <svg viewBox='0 0 720 360' role='img' aria-label='Map of the regions'>
        <rect width='720' height='360' class='map-sea' />
        <g class='map-grid'>{lines}</g>
        {fleet.regions.map(r => {
          const c = byRegion.get(r.id) ?? { online: 0, total: 0 }
          const n = placed.get(r.id) ?? 0
          return (
            <g key={r.id} class='map-region'>
              <circle cx={x(r.lon)} cy={y(r.lat)} r={6 + Math.sqrt(c.total) * 2} />
              <text x={x(r.lon) + (x(r.lon) > 540 ? -10 : 10)} y={y(r.lat) - 8} text-anchor={x(r.lon) > 540 ? 'end' : 'start'}>{r.id}: {c.online}/{c.total} online{n > 0 ? `, ${n} placed` : ''}</text>
            </g>
          )
        })}
      </svg>
      <figcaption>Regions (longitude, latitude); each mark's size follows its devices.</figcaption>
    </figure>
  )
}
