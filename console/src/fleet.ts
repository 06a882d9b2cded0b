// The account's fleet as the API lists it: instances with their device counts, regions, products
// per instance, and a product's devices page by page.
import { api, q } from './api'
import type { Device, DevicePage, Instance, Product, Region } from './types'

export interface Fleet { instances: Instance[], regions: Region[], products: Product[], devices: Device[] }

export async function loadInstances (): Promise<{ instances: Instance[], regions: Region[] }> {
  return api('GET', '/instances')
}

export async function loadProducts (instanceId?: string): Promise<Product[]> {
  return (await api<{ products: Product[] }>('GET', `/products${q({ instanceId })}`)).products
}

/** One page of a product's devices at its instance, filtered by the server (status, name prefix), after `cursor`. */
export async function loadDevicePage (product: Product, filter: { status?: string, prefix?: string, cursor?: string, limit: number }): Promise<DevicePage> {
  return api<DevicePage>('GET', `/products/${encodeURIComponent(product.productKey)}/devices${q({ instanceId: product.instanceId, ...filter })}`)
}

/** Every device of the product at its instance: for views that need them all (the map's placements). */
export async function loadDevices (product: Product): Promise<Device[]> {
  const all: Device[] = []
  let cursor: string | undefined
  do {
    const page = await loadDevicePage(product, { cursor, limit: 1000 })
    all.push(...page.devices)
    cursor = page.next ?? undefined
  } while (cursor !== undefined)
  return all
}

export async function loadFleet (): Promise<Fleet> {
  const { instances, regions } = await loadInstances()
  const products = await loadProducts()
  const devices = (await Promise.all(products.map(loadDevices))).flat()
  return { instances, regions, products, devices }
}

/** Online and total devices per instance, as the API counts them (devices waiting for placement count at each candidate). */
export function countsByInstance (fleet: Pick<Fleet, 'instances'>): Map<string, { online: number, total: number }> {
  return new Map(fleet.instances.map(i => [i.id, { online: i.devices.online, total: i.devices.total }]))
}
