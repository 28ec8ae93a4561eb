/**
 * The repository secret that seals agent keys at rest (docs/e2e.md, "Agent
 * keys and keys at rest"): 32 random bytes in `<repo>/e2e.secret`, mode 0600,
 * created on first start. Losing it makes the stored agent keys unreadable
 * (`E2E_KEYS_LOCKED`); copying the database without it reveals nothing.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SwarmdError } from '../../common/index.ts'

export const SECRET_FILE = 'e2e.secret'

export function loadRepoSecret(root: string): Uint8Array {
  const path = join(root, SECRET_FILE)
  if (!existsSync(path)) {
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
    chmodSync(path, 0o600)
  }
  const hex = readFileSync(path, 'utf8').trim()
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new SwarmdError('E2E_SECRET_INVALID', `${path} must hold 64 hex chars (32 bytes)`)
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
