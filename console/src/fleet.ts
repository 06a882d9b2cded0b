// The account's whole fleet as the API lists it: instances, regions, products per instance, devices
// per product and instance. The API has no per-instance count, so the console counts what it lists.
import { api, q } from './api'
import type { Device, Instance, Product, Region } from './types'

export interface Fleet { instances: Instance[], regions: Region[], products: Product[], devices: Device[] }

export async function loadInstances (): Promise<{ instances: Instance[], regions: Region[] }> {
  return api('GET', '/instances')
}

export async function loadProducts (instanceId?: string): Promise<Product[]> {
  return (await api<{ products: Product[] }>('GET', `/products${q({ instanceId })}`)).products
}

export async function loadDevices (product: Product): Promise<Device[]> {
  const all: Device[] = []
  for (let offset = 0; ; offset += 1000) {
    const page = await api<{ total: number, devices: Device[] }>('GET', `/products/${encodeURIComponent(product.productKey)}/devices${q({ instanceId: product.instanceId, offset, limit: 1000 })}`)
    all.push(...page.devices)
    if (all.length >= page.total || page.devices.length === 0) return all
  }
}

export async function loadFleet (): Promise<Fleet> {
  const { instances, regions } = await loadInstances()
  const products = await loadProducts()
  const devices = (await Promise.all(products.map(loadDevices))).flat()
  return { instances, regions, products, devices }
}

export function countsByInstance (fleet: Fleet): Map<string, { online: number, total: number }> {
  const counts = new Map(fleet.instances.map(i => [i.id, { online: 0, total: 0 }]))
  for (const d of fleet.devices) {
    const c = d.instanceId === null ? undefined : counts.get(d.instanceId)
    if (c === undefined) continue
    c.total++
    if (d.online) c.online++
  }
  return counts
}
