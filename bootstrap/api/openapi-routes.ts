// What the OpenAPI document says of each management API route: a summary, and the zod schemas that
// validate its query and body (the very objects the route handlers use). Keyed by method and path as
// the router knows them; a route the router has and this table lacks is missing from the document,
// and test/openapi.test.ts fails.
import { z } from 'zod'
import { jobRequestSchema } from '../jobs/plan-request.js'
import { deviceEventsAnswer } from './device-events-view.js'
import { deviceEventsQuery } from './routes/device-events.js'
import { deviceStateQuery } from './routes/device-state.js'
import { deviceCreateBody, deviceListQuery, deviceQuery, deviceTagsBody } from './routes/devices.js'
import { createJobQuery, distributedDevicesQuery, distributedQuery, jobListQuery } from './routes/distribution.js'
import { connectionsQuery } from './routes/instances.js'
import { productCreateBody, productPatchBody, productQuery } from './routes/products.js'
import { codeCreateBody } from './routes/verification-codes.js'

export interface RouteDoc {
  summary: string
  tag: string
  query?: z.ZodType
  body?: z.ZodType
  /** The body may also come as multipart/form-data: the body's fields and one CSV `file`. */
  upload?: boolean
  /** The success status and what it answers. */
  answers: [number, string, ('json' | 'csv')?]
  /** The JSON answer's schema, where one is written down. */
  response?: z.ZodType
}

/** The job upload form: the job's fields as text (targets as JSON text) and the CSV file of devices. */
export const jobUploadForm = z.object({
  method: z.enum(['this-account', 'cross-account']),
  policy: z.enum(['region', 'nearest']),
  sourceInstanceId: z.string(),
  productKey: z.string().optional(),
  targetInstanceId: z.string().optional(),
  targets: z.string().optional().describe('JSON text: [{"region":"...","instanceId":"..."}]'),
  targetAccount: z.string().optional(),
  verificationCode: z.string().optional(),
  file: z.string().describe('CSV: productKey,deviceName').meta({ contentMediaType: 'text/csv' })
})

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /instances': { tag: 'instances', summary: 'The caller\'s instances with their device counts, and their regions', answers: [200, 'instances and regions'] },
  'GET /instances/{id}/connections': {
    tag: 'instances',
    summary: 'Connections over time at one of the caller\'s instances: its broker nodes\' samples summed per step (a node that stopped reporting counts as gone)',
    query: connectionsQuery,
    answers: [200, 'points { at, connections } and the nodes that reported']
  },
  'GET /products': { tag: 'products', summary: 'Products of the caller\'s instances (distributed copies are read-only)', query: productQuery, answers: [200, 'products'] },
  'POST /products': { tag: 'products', summary: 'Create a product at one of the caller\'s instances', body: productCreateBody, answers: [201, 'the product'] },
  'GET /products/{pk}': { tag: 'products', summary: 'One product', query: productQuery, answers: [200, 'the product'] },
  'PATCH /products/{pk}': { tag: 'products', summary: 'Change a product (not a read-only copy)', query: productQuery, body: productPatchBody, answers: [200, 'the product'] },
  'DELETE /products/{pk}': { tag: 'products', summary: 'Delete a product', query: productQuery, answers: [204, 'deleted'] },
  'POST /products/{pk}/devices': { tag: 'devices', summary: 'Create devices by names or by count, all or nothing; answers their certificates', body: deviceCreateBody, answers: [201, 'the certificates'] },
  'GET /products/{pk}/devices': { tag: 'devices', summary: 'Devices of a product at an instance by status, name prefix and tag, with counts, paged by cursor', query: deviceListQuery, answers: [200, 'a page of devices'] },
  'GET /products/{pk}/devices/{dn}': { tag: 'devices', summary: 'One device', query: deviceQuery, answers: [200, 'the device'] },
  'GET /products/{pk}/devices/{dn}/certificate': { tag: 'devices', summary: 'A device\'s certificate (its secret), for its owner', query: deviceQuery, answers: [200, 'the certificate'] },
  'DELETE /products/{pk}/devices/{dn}': { tag: 'devices', summary: 'Delete a device where it was created', query: deviceQuery, answers: [204, 'deleted'] },
  'PUT /products/{pk}/devices/{dn}/tags': { tag: 'devices', summary: 'Replace a device\'s tags', query: deviceQuery, body: deviceTagsBody, answers: [200, 'the tags'] },
  'POST /products/{pk}/devices/{dn}/disable': { tag: 'devices', summary: 'Disable a device (and disconnect it)', query: deviceStateQuery, answers: [200, 'the device'] },
  'POST /products/{pk}/devices/{dn}/enable': { tag: 'devices', summary: 'Enable a device', query: deviceStateQuery, answers: [200, 'the device'] },
  'GET /products/{pk}/devices/{dn}/events': { tag: 'devices', summary: 'A device\'s timeline, newest first: created, bootstrapped, connected, notified, answered, disconnected, moved, placed, disabled, enabled, tags (only what happened at the caller\'s instances)', query: deviceEventsQuery, response: deviceEventsAnswer, answers: [200, 'the events'] },
  'GET /distribution/template.csv': { tag: 'distribution', summary: 'The CSV template of a job\'s device list', answers: [200, 'productKey,deviceName', 'csv'] },
  'POST /distribution/jobs': {
    tag: 'distribution',
    summary: 'Start a distribution job (202), or with dryRun=true preview it: per device, where it would go or why it would be refused; a preview stores nothing',
    query: createJobQuery,
    body: jobRequestSchema,
    upload: true,
    answers: [202, 'the job id (a preview answers 200 with the per-device plan)']
  },
  'GET /distribution/jobs': { tag: 'distribution', summary: 'The caller\'s jobs, paged', query: jobListQuery, answers: [200, 'a page of jobs'] },
  'GET /distribution/jobs/{id}': { tag: 'distribution', summary: 'One job with its counts', answers: [200, 'the job'] },
  'POST /distribution/jobs/{id}/retry': { tag: 'distribution', summary: 'Run a job again for the devices that failed', answers: [202, 'the job id'] },
  'GET /distribution/jobs/{id}/records': { tag: 'distribution', summary: 'The job\'s per-device records', answers: [200, 'productKey,deviceName,code,message', 'csv'] },
  'GET /distribution/devices': { tag: 'distribution', summary: 'Devices distributed into the caller\'s instances, paged by cursor', query: distributedDevicesQuery, answers: [200, 'a page of devices'] },
  'GET /distribution/products': { tag: 'distribution', summary: 'Products distributed into or out of the caller\'s instances', query: distributedQuery, answers: [200, 'a page of products'] },
  'POST /distribution/verification-codes': { tag: 'distribution', summary: 'Ask another account\'s owner for a verification code', body: codeCreateBody, answers: [202, 'where the code went'] },
  'GET /distribution/verification-codes': { tag: 'distribution', summary: 'Verification codes addressed to the caller', answers: [200, 'the codes'] },
  'GET /openapi.json': { tag: 'meta', summary: 'This document', answers: [200, 'the OpenAPI 3.1 document'] }
}
