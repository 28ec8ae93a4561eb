import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Db } from '../../../src/node/db.ts'
import { acquireLock, initRepo, openRepo, repoPaths, resolveRepoPath } from '../../../src/node/repo.ts'

const dirs: string[] = []
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'swarmd-repo-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('repository', () => {
  it('resolves --repo, then $SWARMD_REPO, then ~/.swarmd', () => {
    expect(resolveRepoPath('/a/b', {})).toBe('/a/b')
    expect(resolveRepoPath(undefined, { SWARMD_REPO: '/c' })).toBe('/c')
    expect(resolveRepoPath(undefined, {})).toMatch(/\.swarmd$/)
  })

  it('persists the identity key with mode 0600 and keeps the peer id across opens', async () => {
    const root = join(tmp(), 'r')
    const { peerId } = await initRepo(root, { overrides: { 'api.port': 0 } })
    const p = repoPaths(root)
    expect(statSync(p.key).mode & 0o777).toBe(0o600)
    expect(statSync(p.token).mode & 0o777).toBe(0o600)
    const repo = openRepo(root)
    expect(repo.peerId).toBe(peerId)
    expect(repo.config.api.port).toBe(0)
    expect(openRepo(root).peerId).toBe(peerId)
    // --force keeps the identity
    await expect(initRepo(root)).rejects.toThrow('already exists (use --force')
    expect((await initRepo(root, { force: true })).peerId).toBe(peerId)
  })

  it('refuses a repository of another format version and a corrupt key, saying why', async () => {
    const root = join(tmp(), 'r')
    await initRepo(root)
    writeFileSync(repoPaths(root).version, '7\n')
    expect(() => openRepo(root)).toThrow('has format version 7, this swarmd reads version 1')
    writeFileSync(repoPaths(root).version, '1\n')
    writeFileSync(repoPaths(root).key, 'garbage')
    expect(() => openRepo(root)).toThrow(/identity key .* is corrupt/)
    expect(() => openRepo(join(root, 'nope'))).toThrow('no repository at')
  })

  it('takes an exclusive lock and takes over a stale one', async () => {
    const root = join(tmp(), 'r')
    await initRepo(root)
    const release = acquireLock(root)
    expect(() => acquireLock(root)).toThrow(
      `repository ${root} is already in use by another swarmd process (pid ${process.pid})`,
    )
    release()
    writeFileSync(repoPaths(root).lock, '999999999\n') // a dead pid
    const release2 = acquireLock(root)
    expect(readFileSync(repoPaths(root).lock, 'utf8').trim()).toBe(String(process.pid))
    release2()
  })

  it('maps LevelDB own lock to the already-in-use error', async () => {
    const path = join(tmp(), 'db')
    const db = await Db.open(path)
    await expect(Db.open(path)).rejects.toThrow('already in use by another process')
    await db.close()
  })
})
