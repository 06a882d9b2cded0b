// The regions on a map of the world: Natural Earth's 1:110m land outline (npm world-atlas, bundled at
// build time, nothing fetched when the page runs) in the Natural Earth projection (d3-geo), each region
// at its latitude and longitude, sized by its devices, with the devices placed there by nearest
// access and where they came from (the region of the instance they were created at).
import { geoDistance, geoGraticule10, geoNaturalEarth1, geoPath } from 'd3-geo'
import { useState } from 'preact/hooks'
import { feature } from 'topojson-client'
import type { GeometryObject, Topology } from 'topojson-specification'
import land110m from 'world-atlas/land-110m.json'
import type { Region } from './types'

export interface RegionCounts { online: number, total: number, placed: number, fallback: number }
/** Devices placed by nearest access from one region (their origin instance's) into another. */
export interface Flow { from: string, to: string, devices: number }

const W = 720
const H = 370
const SPHERE = { type: 'Sphere' } as const
const projection = geoNaturalEarth1().fitExtent([[4, 4], [W - 4, H - 4]], SPHERE)
const path = geoPath(projection)
/** The outline is drawn once per page load, not per render. */
let outline: { sphere: string, land: string, graticule: string } | null = null
function drawOutline (): { sphere: string, land: string, graticule: string } {
  const topology = land110m as unknown as Topology<{ land: GeometryObject }>
  outline ??= { sphere: path(SPHERE) ?? '', land: path(feature(topology, topology.objects.land)) ?? '', graticule: path(geoGraticule10()) ?? '' }
  return outline
}

const describe = (r: Region, c: RegionCounts): string =>
  `${r.name}, ${r.id}: ${c.online} of ${c.total} online${c.placed > 0 ? `, ${c.placed} placed by nearest access${c.fallback > 0 ? ` (${c.fallback} by the default region)` : ''}` : ''}`

export function WorldMap ({ regions, counts, flows }: { regions: Region[], counts: Map<string, RegionCounts>, flows: Flow[] }) {
  const { sphere, land, graticule } = drawOutline()
  const [focused, setFocused] = useState<string | null>(null)
  const byId = new Map(regions.map(r => [r.id, r]))
  const empty: RegionCounts = { online: 0, total: 0, placed: 0, fallback: 0 }
  const shown = regions.find(r => r.id === focused)
  return (
    <figure class='map'>
      <svg viewBox={`0 0 ${W} ${H}`} role='group' aria-label='Map of the regions'>
        <path class='map-sea' d={sphere} />
        <path class='map-grid' d={graticule} />
        <path class='map-land' d={land} data-outline='land' />
        {flows.map(f => {
          const from = byId.get(f.from)
          const to = byId.get(f.to)
          if (from === undefined || to === undefined || geoDistance([from.lon, from.lat], [to.lon, to.lat]) === 0) return null
          // A great-circle arc, as d3-geo draws a line between two points on the sphere.
          const d = path({ type: 'LineString', coordinates: [[from.lon, from.lat], [to.lon, to.lat]] }) ?? ''
          return <path key={`${f.from}>${f.to}`} class='map-flow' d={d} stroke-width={Math.min(6, 1 + Math.log2(f.devices))}><title>{f.devices} created at {from.id}, placed in {to.id}</title></path>
        })}
        {regions.map(r => {
          const c = counts.get(r.id) ?? empty
          const [x, y] = projection([r.lon, r.lat]) ?? [0, 0]
          const east = x > W * 0.72
          return (
            <g
              key={r.id} class='map-region' data-region={r.id} tabIndex={0} role='img' aria-label={describe(r, c)}
              onFocus={() => setFocused(r.id)} onBlur={() => setFocused(f => f === r.id ? null : f)}
              onMouseEnter={() => setFocused(r.id)} onMouseLeave={() => setFocused(f => f === r.id ? null : f)}
            >
              <circle cx={x} cy={y} r={5 + Math.sqrt(c.total) * 2} />
              {c.placed > 0 && <circle class='map-placed' cx={x} cy={y} r={3 + Math.sqrt(c.placed) * 2} />}
              <text x={x + (east ? -10 : 10)} y={y - 8} text-anchor={east ? 'end' : 'start'}>{r.id}: {c.online}/{c.total}{c.placed > 0 ? `, ${c.placed} placed` : ''}</text>
            </g>
          )
        })}
      </svg>
      <figcaption aria-live='polite'>
        {shown === undefined
          ? 'Regions at their coordinates: the outer circle grows with the devices there, the inner one with those placed by nearest access; lines run from the region where placed devices were created to where they were placed. Tab to a region for its numbers.'
          : describe(shown, counts.get(shown.id) ?? empty)}
      </figcaption>
    </figure>
  )
}
