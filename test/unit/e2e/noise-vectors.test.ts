import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
// CI clones the repository with shared/ beside it; developer worktrees under
// /work/wt/<name> have it one level further up; NOISE_VECTORS_DIR overrides both.
const candidates = [
  process.env.NOISE_VECTORS_DIR,
  path.resolve(repoRoot, '../shared/test-vectors/noise'),
  path.resolve(repoRoot, '../../shared/test-vectors/noise'),
].filter((d): d is string => d !== undefined)
const vectorsDir =
  candidates.find((d) => existsSync(path.join(d, 'check-noise-vectors.mjs'))) ?? (candidates[0] as string)
const runner = path.join(vectorsDir, 'check-noise-vectors.mjs')
const adapter = path.join(repoRoot, 'test/support/noise-vector-adapter.ts')
const present = existsSync(runner)

describe('standard Noise test vectors', () => {
  if (!present) {
    it.skip(`vectors not found at ${vectorsDir} (clone shared/ beside the repository to run them)`, () => {})
    return
  }
  it('passes all 108 vectors (15 patterns + PSK, SHA256/BLAKE2s/BLAKE2b) with the tamper check', () => {
    const r = spawnSync(process.execPath, [runner, adapter], { cwd: repoRoot, encoding: 'utf8' })
    const lines = r.stdout.trim().split('\n')
    const last = lines[lines.length - 1] ?? ''
    expect(r.stderr).toBe('')
    expect(last).toBe('108 passed, 0 failed, 0 skipped')
    expect(r.status).toBe(0)
  })
})
