import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : []
  })
}

describe('the ephemeral-key test hook is unreachable from production code', () => {
  const files = walk(path.join(repoRoot, 'src'))
  it('no file under src/ imports test/ support code', () => {
    const offenders = files.filter((f) => /from\s+['"][^'"]*test\/support/.test(readFileSync(f, 'utf8')))
    expect(offenders).toEqual([])
  })
  it('no file under src/ subclasses HandshakeState or overrides generateEphemeral', () => {
    const offenders = files.filter((f) => {
      const src = readFileSync(f, 'utf8')
      if (f.endsWith(path.join('e2e', 'noise', 'handshake-state.ts')))
        return /extends HandshakeState/.test(src)
      return /extends HandshakeState|generateEphemeral/.test(src)
    })
    expect(offenders).toEqual([])
  })
})
