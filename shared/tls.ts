// The top-level `tls` block (docs/configuration.md, "Configuration"): PEM files read once at start and shared by every
// TLS listener of the process (bootstrap.httpsPort, listen.mqtts, listen.wss).
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { ConfigError, type Config } from './config.js'

export interface TlsFiles {
  cert: Buffer
  key: Buffer
  /** Intermediate certificates: Node sends the leaf's issuer from here when `cert` holds only the leaf. */
  ca?: Buffer
}

/** Reads the files the config names; null when it has no `tls` block. A bad file is a ConfigError naming its key. */
export function loadTls (config: Config): TlsFiles | null {
  const tls = config.tls
  if (tls === undefined) return null
  const files: TlsFiles = {
    cert: readPem('tls.cert', tls.cert),
    key: readPem('tls.key', tls.key),
    ...(tls.ca === undefined ? {} : { ca: readPem('tls.ca', tls.ca) })
  }
  try {
    // The same check a listener would make, done once here so that the operator reads a config error.
    createSecureContext(files)
  } catch (err) {
    throw new ConfigError(`tls: the certificate and key cannot be used together (${(err as Error).message})`)
  }
  return files
}

function readPem (key: string, file: string): Buffer {
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(`${key}: ${file} is not a PEM file`)
  return pem
}
