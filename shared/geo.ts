// Nearest access (docs/distribution.md, "Rule 7"): where an address is, and which region is closest to it.
import { createRequire } from 'node:module'
import { BlockList, isIP } from 'node:net'
import type geoipLite from 'geoip-lite'
import type { Region } from './types.js'

let geoip: typeof geoipLite | undefined

/**
 * The shipped GeoLite data: about 140 MB in memory and most of a second to read, so it is loaded
 * when first needed (the sidecar loads it at start, before devices bootstrap); broker nodes and
 * operator commands never hold it.
 */
export function loadGeoData (): typeof geoipLite {
  geoip ??= createRequire(import.meta.url)('geoip-lite') as typeof geoipLite
  return geoip
}

export interface LatLon { lat: number, lon: number }

/** Addresses that say nothing about where a device is: private, loopback, link-local, shared, reserved. */
const NOT_PUBLIC = new BlockList()
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) {
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4')
}
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  NOT_PUBLIC.addSubnet(net, bits, 'ipv6')
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) as `1.2.3.4`. */
export function normalizeAddress (address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return mapped?.[1] ?? address
}

export function isPublicAddress (address: string): boolean {
  const a = normalizeAddress(address)
  const family = isIP(a)
  if (family === 0) return false
  return !NOT_PUBLIC.check(a, family === 4 ? 'ipv4' : 'ipv6')
}

/** Where the shipped GeoLite data puts a public address, or null when it does not know. */
export function locate (address: string): LatLon | null {
  if (!isPublicAddress(address)) return null
  const found = loadGeoData().lookup(normalizeAddress(address))
  const [lat, lon] = found?.ll ?? []
  if (typeof lat !== 'number' || typeof lon !== 'number') return null
  return { lat, lon }
}

const EARTH_RADIUS_KM = 6371.0088
const rad = (deg: number): number => deg * Math.PI / 180

/** Great-circle distance (haversine), in kilometres. */
export function distanceKm (a: LatLon, b: LatLon): number {
  const dLat = rad(b.lat - a.lat)
  const dLon = rad(b.lon - a.lon)
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** The region closest to `point`; ties go to the earlier region. */
export function nearestRegion<R extends Pick<Region, 'lat' | 'lon'>> (point: LatLon, regions: R[]): R | undefined {
  let best: R | undefined
  let bestKm = Infinity
  for (const region of regions) {
    const km = distanceKm(point, region)
    if (km < bestKm) {
      best = region
      bestKm = km
    }
  }
  return best
}
