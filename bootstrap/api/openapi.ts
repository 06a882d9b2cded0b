// GET /api/v1/openapi.json: an OpenAPI 3.1 document of the management API, made from the live
// router's routes and, for each, the zod schemas that validate its query and body (openapi-routes.ts),
// turned into JSON Schema by zod's own generator (z.toJSONSchema, draft 2020-12 as OpenAPI 3.1 uses).
import type Router from '@koa/router'
import { z } from 'zod'
import { API_PREFIX } from './api-path.js'
import { ROUTE_DOCS, jobUploadForm, type RouteDoc } from './openapi-routes.js'

type JsonSchema = Record<string, unknown>

export interface LiveRoute { method: string, path: string }

/** Every (method, path) the router answers, paths in OpenAPI form (`/products/{pk}`) without the prefix. */
export function liveRoutes (router: Router<any>): LiveRoute[] { // any: the router's state type does not matter here
  return router.stack.flatMap(layer => layer.methods
    .filter(m => m !== 'HEAD')
    .map(method => ({ method, path: openApiPath(String(layer.path)) })))
}

const openApiPath = (path: string): string => path.slice(path.startsWith(API_PREFIX) ? API_PREFIX.length : 0).replace(/:([A-Za-z0-9_]+)/g, '{$1}')

const schemaOf = (schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema
  return rest
}

const ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } }
  }
}

function queryParameters (schema: z.ZodType | undefined): JsonSchema[] {
  if (schema === undefined) return []
  const json = schemaOf(schema)
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>
  const required = new Set((json.required ?? []) as string[])
  return Object.entries(properties).map(([name, s]) => ({ name, in: 'query', required: required.has(name), schema: s }))
}

function operation (method: string, path: string, doc: RouteDoc): JsonSchema {
  const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map(m => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }))
  const [status, description, kind = 'json'] = doc.answers
  const op: JsonSchema = {
    operationId: `${method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: doc.summary,
    tags: [doc.tag],
    parameters: [...pathParams, ...queryParameters(doc.query)],
    responses: {
      [String(status)]: kind === 'csv' ? { description, content: { 'text/csv': { schema: { type: 'string' } } } } : { description, content: { 'application/json': { schema: doc.response === undefined ? {} : schemaOf(doc.response, 'output') } } },
      default: { description: 'an error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
    }
  }
  if (doc.body !== undefined) {
    const content: JsonSchema = { 'application/json': { schema: schemaOf(doc.body) } }
    if (doc.upload === true) content['multipart/form-data'] = { schema: schemaOf(jobUploadForm) }
    op.requestBody = { required: true, content }
  }
  return op
}

/** The document; a live route without a description is left out (and the test of the document fails). */
export function openApiDocument (routes: LiveRoute[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {}
  for (const { method, path } of routes) {
    const doc = ROUTE_DOCS[`${method} ${path}`]
    if (doc === undefined) continue
    paths[path] ??= {}
    paths[path][method.toLowerCase()] = operation(method, path, doc)
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Homing management API', version, description: 'Products, devices and distribution jobs of the caller\'s account. Every call needs "Authorization: Bearer <account token>".' },
    servers: [{ url: API_PREFIX }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the account\'s API token' } },
      schemas: { Error: ERROR }
    }
  }
}
