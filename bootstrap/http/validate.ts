// Input is validated at the edge with one zod schema per body or query, and trusted inside (STYLE).
// A failure becomes a 400 that names the first bad field.
import type { Context } from 'koa'
import type { z } from 'zod'
import { formatPath } from '../../shared/config.js'
import { ApiError } from './http-error.js'

export function validate<S extends z.ZodType> (schema: S, value: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true })
  if (result.success) return result.data
  throw invalid(result.error, where)
}

/** Query strings: one value per name (`?a=1&a=2` is refused by the schema as an array). */
export function parseQuery<S extends z.ZodType> (ctx: Context, schema: S): z.output<S> {
  return validate(schema, { ...ctx.query }, 'query')
}

function invalid (error: z.ZodError, where: string): ApiError {
  const issue = error.issues[0] as z.core.$ZodIssue
  if (issue.code === 'unrecognized_keys') {
    const field = formatPath([...issue.path, issue.keys[0] ?? ''])
    return new ApiError(400, 'invalid', `unknown field "${field}"`, field)
  }
  const field = formatPath(issue.path)
  if (field === '') {
    const message = issue.code === 'invalid_type' ? `${where} must be ${article(issue.expected)}` : `${where}: ${issue.message}`
    return new ApiError(400, 'invalid', message)
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return new ApiError(400, 'invalid', `${field} is required`, field)
  if (issue.code === 'too_small' && issue.input === '') return new ApiError(400, 'invalid', `${field} must not be empty`, field)
  return new ApiError(400, 'invalid', `${field}: ${issue.message}`, field)
}

function article (expected: string): string {
  return expected === 'object' ? 'a JSON object' : `${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`
}
