// Records for tests to write straight into a registry: products and jobs with every field filled,
// so a test names only what it is about.
import { randomBytes } from 'node:crypto'
import type { Job, Product } from '../../shared/types.js'

/** A bare product: no topic categories, no model, no parsing script. */
export function product (productKey: string, instanceId: string, extra: Partial<Product> = {}): Product {
  return {
    productKey,
    instanceId,
    name: 'Lamp',
    topicCategories: [],
    tsl: null,
    parsingScript: null,
    readOnly: false,
    sourceInstanceId: null,
    createdAt: 1,
    updatedAt: 1,
    ...extra
  }
}

/** A product with the data a move copies along: a topic category, a model and a parsing script. */
export function productWithData (productKey: string, instanceId: string, extra: Partial<Product> = {}): Product {
  return product(productKey, instanceId, { topicCategories: [{ topic: 'user/update' }], tsl: { properties: [] }, parsingScript: 'return 1', ...extra })
}

/** A this-account job from instance a to b over `deviceNames`, not started yet, under a fresh id. */
export function job (productKey: string, deviceNames: string[], extra: Partial<Job> = {}): Job {
  const now = Date.now()
  return {
    id: `job-${randomBytes(6).toString('hex')}`,
    accountId: 'acme',
    method: 'this-account',
    policy: 'region',
    sourceInstanceId: 'a',
    productKey,
    deviceNames,
    targetInstanceId: 'b',
    targets: [],
    targetAccountId: null,
    status: 'initializing',
    total: deviceNames.length,
    succeeded: 0,
    failed: 0,
    createdAt: now,
    updatedAt: now,
    error: null,
    ...extra
  }
}
