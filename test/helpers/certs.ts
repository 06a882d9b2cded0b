// Test-only TLS material, made fresh with openssl in a temp dir at test time (no private key is
// committed): a root CA, an intermediate, and a server certificate for localhost and 127.0.0.1
// issued by the intermediate, the usual shape of a real deployment's chain.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCerts {
  dir: string
  /** Paths, as the config's `tls` block names them. */
  cert: string
  key: string
  /** The intermediate: the server sends it with the leaf. */
  ca: string
  /** What a client trusts: the root only. */
  root: Buffer
  /** A key that does not belong to `cert`. */
  otherKey: string
  remove: () => void
}

export function makeCerts (): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'homing-tls-'))
  const at = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  writeFileSync(at('int.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n')
  writeFileSync(at('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n')
  openssl('req', '-x509', ...ec, '-keyout', at('root.key'), '-out', at('root.pem'), '-days', '2', '-subj', '/CN=Homing Test Root')
  openssl('req', '-new', ...ec, '-keyout', at('int.key'), '-out', at('int.csr'), '-subj', '/CN=Homing Test Intermediate')
  openssl('x509', '-req', '-in', at('int.csr'), '-CA', at('root.pem'), '-CAkey', at('root.key'), '-CAcreateserial', '-out', at('int.pem'), '-days', '2', '-extfile', at('int.ext'))
  openssl('req', '-new', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=localhost')
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('int.pem'), '-CAkey', at('int.key'), '-CAcreateserial', '-out', at('server.pem'), '-days', '2', '-extfile', at('server.ext'))
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at('other.key'))
  return {
    dir,
    cert: at('server.pem'),
    key: at('server.key'),
    ca: at('int.pem'),
    root: readFileSync(at('root.pem')),
    otherKey: at('other.key'),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}
