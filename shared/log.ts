// Structured JSON logs. Secrets never reach them: the redact list covers every field that may hold one.
import { pino, type Logger } from 'pino'

export type { Logger } from 'pino'

export const REDACT = [
  'token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'password', '*.password', 'deviceSecret', '*.deviceSecret', 'secret', '*.secret', 'code', 'verificationCode', '*.verificationCode'
]

export function createLogger (name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } })
}

/** For tests and embedding: logs nothing. */
export const silentLogger: Logger = pino({ level: 'silent' })
