// Operator commands for products; each calls the REST API (README.md, "Management API"):
//   homing products create --instance ID --name NAME [--product-key PK]
//   homing products list [--instance ID] | show PK | delete PK      (--instance when the product is at several)
//   homing products update PK [--name N] [--description D] [--instance ID]
//   homing instances                                                 the account's instances
import type { Command } from 'commander'
import { action, callApi, OperatorError, withApiOptions, type ApiTarget } from './api-client.js'
import { printAnswer, printOne, withOutput, type Column, type OutputOptions } from './output.js'

interface ProductView {
  productKey: string
  instanceId: string
  name: string
  description?: string
  readOnly: boolean
  sourceInstanceId: string | null
  createdAt: number
  updatedAt: number
}

interface InstanceView {
  id: string
  region: string
  endpoint: { host: string, port: number }
}

type Options = ApiTarget & OutputOptions & { instance?: string }

const PRODUCT_COLUMNS: readonly Column<ProductView>[] = [
  { header: 'productKey', value: p => p.productKey },
  { header: 'name', value: p => p.name },
  { header: 'instance', value: p => p.instanceId },
  { header: 'readOnly', value: p => p.readOnly },
  { header: 'copiedFrom', value: p => p.sourceInstanceId },
  { header: 'created', value: p => p.createdAt, time: true },
  { header: 'updated', value: p => p.updatedAt, time: true }
]

/** One product (show, create, update): the list's columns and its description. */
const ONE_PRODUCT_COLUMNS: readonly Column<ProductView>[] = [...PRODUCT_COLUMNS.slice(0, 2), { header: 'description', value: p => p.description ?? null }, ...PRODUCT_COLUMNS.slice(2)]

const atInstance = (instanceId?: string): string => instanceId === undefined ? '' : `?instanceId=${encodeURIComponent(instanceId)}`
const productPath = (pk: string, instanceId?: string): string => `/products/${encodeURIComponent(pk)}${atInstance(instanceId)}`
const INSTANCE_OPTION = ['--instance <instanceId>', 'the instance of yours the product is at (needed only when it is at several)'] as const

function command (parent: Command, spec: string): Command {
  return withOutput(withApiOptions(parent.command(spec)))
}

export function registerProducts (program: Command): void {
  command(program, 'instances')
    .description('your account\'s instances: id, region and the MQTT endpoint devices are sent to')
    .action(action(async (opts: Options) => {
      const answer = JSON.parse((await callApi(opts, 'GET', '/instances')).text) as { instances: InstanceView[] }
      printAnswer(opts.output, answer, a => a.instances, [
        { header: 'id', value: i => i.id },
        { header: 'region', value: i => i.region },
        { header: 'endpoint', value: i => `${i.endpoint.host}:${i.endpoint.port}` }
      ])
    }))

  const products = program.command('products').description('products: create, list, show, update, delete')
  command(products, 'create')
    .description('create a product at one of your instances; its devices are created with `homing devices create`')
    .requiredOption('--instance <instanceId>', 'the instance it lives at')
    .requiredOption('--name <name>', 'its display name')
    .option('--product-key <pk>', 'its ProductKey (generated when not given)')
    .action(action(async (opts: Options & { name: string, productKey?: string }) => {
      const body = { instanceId: opts.instance, name: opts.name, ...(opts.productKey === undefined ? {} : { productKey: opts.productKey }) }
      printOne(opts.output, JSON.parse((await callApi(opts, 'POST', '/products', body)).text) as ProductView, ONE_PRODUCT_COLUMNS)
    }))
  command(products, 'list')
    .description('your products, at every instance of yours or at one')
    .option('--instance <instanceId>', 'only the products at this instance')
    .action(action(async (opts: Options) => {
      const answer = JSON.parse((await callApi(opts, 'GET', `/products${atInstance(opts.instance)}`)).text) as { products: ProductView[] }
      printAnswer(opts.output, answer, a => a.products, PRODUCT_COLUMNS)
    }))
  command(products, 'show <productKey>')
    .description('one product')
    .option(...INSTANCE_OPTION)
    .action(action(async (pk: string, opts: Options) => {
      printOne(opts.output, JSON.parse((await callApi(opts, 'GET', productPath(pk, opts.instance))).text) as ProductView, ONE_PRODUCT_COLUMNS)
    }))
  command(products, 'update <productKey>')
    .description('change a product\'s name or description (a distributed read-only copy cannot be changed)')
    .option(...INSTANCE_OPTION)
    .option('--name <name>', 'its new display name')
    .option('--description <text>', 'its new description ("" clears it)')
    .action(action(async (pk: string, opts: Options & { name?: string, description?: string }) => {
      const patch = { ...(opts.name === undefined ? {} : { name: opts.name }), ...(opts.description === undefined ? {} : { description: opts.description }) }
      if (Object.keys(patch).length === 0) throw new OperatorError('nothing to change: give --name or --description')
      printOne(opts.output, JSON.parse((await callApi(opts, 'PATCH', productPath(pk, opts.instance), patch)).text) as ProductView, ONE_PRODUCT_COLUMNS)
    }))
  withApiOptions(products.command('delete <productKey>'))
    .description('delete a product that has no devices left (a distributed read-only copy cannot be deleted)')
    .option(...INSTANCE_OPTION)
    .action(action(async (pk: string, opts: Options) => {
      await callApi(opts, 'DELETE', productPath(pk, opts.instance))
      process.stderr.write(`deleted product ${pk}\n`)
    }))
}
