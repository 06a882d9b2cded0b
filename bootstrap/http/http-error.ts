// Errors that carry their HTTP meaning (as Koa's do); one middleware turns them into responses.

export class ApiError extends Error {
  readonly expose = true
  constructor (readonly status: number, readonly code: string, message: string, readonly field?: string, readonly headers: Record<string, string> = {}) {
    super(message)
    this.name = 'ApiError'
  }

  /** README.md, "Management API": `{ "error": { "code", "message", "field"? } }`. */
  body (): { error: { code: string, message: string, field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } }
  }
}

export const badRequest = (message: string, field?: string): ApiError => new ApiError(400, 'invalid', message, field)
export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', `${what} not found`)
export const conflict = (message: string): ApiError => new ApiError(409, 'conflict', message)
export const forbidden = (message: string): ApiError => new ApiError(403, 'forbidden', message)
export const unauthorized = (message: string): ApiError => new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="homing"' })
export const tooLarge = (limit: number): ApiError => new ApiError(413, 'too_large', `body larger than ${limit} bytes`)
export const unsupportedType = (message: string): ApiError => new ApiError(415, 'unsupported_media_type', message)
