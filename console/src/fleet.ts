// The account's fleet as the API lists it: instances with their device counts, regions, products
// per instance, and a product's devices page by page.
import { api, q } from './api'
import type { Device, DevicePage, Instance, Product, Region } from './types'

/** `devices`: at most MAP_SAMPLE of them (`sampled` when there are more): the map's placements, never the whole fleet. */
export interface Fleet { instances: Instance[], regions: Region[], products: Product[], devices: Device[], sampled: boolean }

/** Devices the overview reads for the map's placements: a page costs the same at any fleet size, a million pages do not. */
export const MAP_SAMPLE = 5000

export async function loadInstances (): Promise<{ instances: Instance[], regions: Region[] }> {
  return api('GET', '/instances')
}

export async function loadProducts (instanceId?: string): Promise<Product[]> {
  return (await api<{ products: Product[] }>('GET', `/products${q({ instanceId })}`)).products
}

/** One page of a product's devices at its instance, filtered by the server (status, name prefix, tag), after `cursor`. */
export async function loadDevicePage (product: Product, filter: { status?: string, prefix?: string, tag?: string, cursor?: string, limit: number }): Promise<DevicePage> {
  return api<DevicePage>('GET', `/products/${encodeURIComponent(product.productKey)}/devices${q({ instanceId: product.instanceId, ...filter })}`)
}

/** The product's devices at its instance, at most `max` of them; `more` when some were left unread. */
export async function loadDevices (product: Product, max: number): Promise<{ devices: Device[], more: boolean }> {
  const all: Device[] = []
  let cursor: string | undefined
  do {
    const page = await loadDevicePage(product, { cursor, limit: Math.min(1000, Math.max(1, max - all.length)) })
    all.push(...page.devices)
    cursor = page.next ?? undefined
  } while (cursor !== undefined && all.length < max)
  return { devices: all.slice(0, max), more: cursor !== undefined }
}

export async function loadFleet (): Promise<Fleet> {
  const { instances, regions } = await loadInstances()
  const products = await loadProducts()
  const devices: Device[] = []
  let sampled = false
  for (const product of products) {
    if (devices.length >= MAP_SAMPLE) { sampled = true; break }
    const read = await loadDevices(product, MAP_SAMPLE - devices.length)
    devices.push(...read.devices)
    sampled ||= read.more
  }
  return { instances, regions, products, devices, sampled }
}

/** Online and total devices per instance, as the API counts them (devices waiting for placement count at each candidate). */
export function countsByInstance (fleet: Pick<Fleet, 'instances'>): Map<string, { online: number, total: number }> {
  return new Map(fleet.instances.map(i => [i.id, { online: i.devices.online, total: i.devices.total }]))
}
