import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Cleanup, tempDir, waitFor } from './node_helpers.ts'
import { cli, startDaemon } from './process_helpers.ts'

/** Poll the control API directly (cheaper than a CLI process per poll on a loaded machine). */
async function apiStatus(repo: string): Promise<{ peers: number } | undefined> {
  try {
    const info = JSON.parse(readFileSync(join(repo, 'daemon.json'), 'utf8')) as { apiPort: number }
    const token = readFileSync(join(repo, 'api-token'), 'utf8').trim()
    const res = await fetch(`http://127.0.0.1:${info.apiPort}/v1/status`, {
      headers: { authorization: `Bearer ${token}` },
    })
    return (await res.json()) as { peers: number }
  } catch {
    return undefined
  }
}

const LOOP = ['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns']

describe('swarmd as processes', () => {
  const cleanup = new Cleanup()
  afterAll(() => cleanup.run())

  it('init, start, status, caps across two daemons, lock, SIGTERM and restart with the same id', async () => {
    const dir = tempDir(cleanup)
    const a = join(dir, 'a')
    const b = join(dir, 'b')

    const init = await cli(['init', '--repo', a, ...LOOP, '--k', '4', '--json'])
    expect(init.code).toBe(0)
    const { peerId } = JSON.parse(init.stdout) as { peerId: string; repo: string }
    expect(peerId).toMatch(/^12D3KooW/)
    const again = await cli(['init', '--repo', a])
    expect(again.code).not.toBe(0)
    expect(again.stderr.trim()).toBe(
      `swarmd: repository ${a} already exists (use --force to re-initialise it)`,
    )

    const da = await startDaemon(cleanup, ['--repo', a])
    expect(da.ready).toMatch(
      new RegExp(`^swarmd \\S+ ready: peer ${peerId}, api 127\\.0\\.0\\.1:\\d+, listening /ip4/127`),
    )
    const info = JSON.parse(readFileSync(join(a, 'daemon.json'), 'utf8')) as { apiPort: number; pid: number }
    expect(info.pid).toBe(da.child.pid)

    // The control API wants the token.
    const noToken = await fetch(`http://127.0.0.1:${info.apiPort}/v1/status`)
    expect(noToken.status).toBe(401)
    const wrong = await fetch(`http://127.0.0.1:${info.apiPort}/metrics`, {
      headers: { authorization: 'Bearer nope' },
    })
    expect(wrong.status).toBe(401)
    const token = readFileSync(join(a, 'api-token'), 'utf8').trim()
    const metrics = await fetch(`http://127.0.0.1:${info.apiPort}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('swarmd_node_uptime_seconds')

    const st = await cli(['status', '--repo', a, '--json'])
    expect(st.code).toBe(0)
    const status = JSON.parse(st.stdout)
    expect(status).toMatchObject({ peerId, peers: 0, version: expect.any(String), dht: { mode: 'server' } })
    expect(status.addresses.length).toBeGreaterThan(0)
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0)

    // A second daemon on the same repository is refused with the lock error.
    const second = await cli(['start', '--repo', a, ...LOOP])
    expect(second.code).not.toBe(0)
    expect(second.stderr.trim()).toBe(
      `swarmd: repository ${a} is already in use by another swarmd process (pid ${da.child.pid})`,
    )

    // A second node (start initialises its repository) bootstraps from the first.
    const db = await startDaemon(cleanup, ['--repo', b, ...LOOP, '--bootstrap', status.addresses[0]])
    await waitFor(async () => ((await apiStatus(b))?.peers ?? 0) >= 1, 30_000, 200)
    const provide = await cli(['caps', 'provide', 'image-ocr', '--repo', a, '--json'])
    expect(provide.code).toBe(0)
    const found = await cli(['caps', 'find', 'image-ocr', '--repo', b, '--json', '--timeout', '5000'])
    expect(found.code).toBe(0)
    const res = JSON.parse(found.stdout)
    expect(res.capability).toBe('image-ocr')
    expect(res.providers.map((p: { peerId: string }) => p.peerId)).toContain(peerId)
    expect(typeof res.elapsedMs).toBe('number')
    const conn = await cli(['connect', status.addresses[0], '--repo', b, '--json'])
    expect(conn.code).toBe(0)
    expect(JSON.parse(conn.stdout).peerId).toBe(peerId)
    const badConn = await cli(['connect', '/not/a/multiaddr', '--repo', b])
    expect(badConn.code).not.toBe(0)
    expect(badConn.stderr.trim().split('\n')).toHaveLength(1)
    const peers = JSON.parse((await cli(['peers', '--repo', b, '--json'])).stdout)
    expect(peers.peers.map((p: { peerId: string }) => p.peerId)).toContain(peerId)

    // SIGTERM: clean stop, daemon.json and the lock are removed.
    da.child.kill('SIGTERM')
    expect(await da.exited).toBe(0)
    expect(existsSync(join(a, 'daemon.json'))).toBe(false)
    expect(existsSync(join(a, 'repo.lock'))).toBe(false)
    const down = await cli(['status', '--repo', a])
    expect(down.code).not.toBe(0)
    expect(down.stderr).toContain(`no daemon running for repository ${a}`)

    // Restart: same peer id, capability still provided, known peer reconnected.
    const da2 = await startDaemon(cleanup, ['--repo', a])
    expect(da2.ready).toContain(`peer ${peerId}`)
    const st2 = JSON.parse((await cli(['status', '--repo', a, '--json'])).stdout)
    expect(st2.peerId).toBe(peerId)
    expect(st2.capabilities).toEqual(['image-ocr'])
    await waitFor(async () => ((await apiStatus(a))?.peers ?? 0) >= 1, 30_000, 200)
    const id = JSON.parse((await cli(['id', '--repo', a, '--json'])).stdout)
    expect(id.peerId).toBe(peerId)

    da2.child.kill('SIGTERM')
    db.child.kill('SIGTERM')
    expect(await da2.exited).toBe(0)
    expect(await db.exited).toBe(0)
  }, 180_000)

  it('gives one-line errors for user mistakes', async () => {
    const dir = tempDir(cleanup)
    const bad = await cli(['init', '--repo', join(dir, 'x'), '--api-port', 'abc'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    const noRepo = await cli(['status', '--repo', join(dir, 'none')])
    expect(noRepo.code).not.toBe(0)
    expect(noRepo.stderr.trim()).toContain('no daemon running for repository')
    const id = await cli(['id', '--repo', join(dir, 'none')])
    expect(id.stderr.trim()).toBe(
      `swarmd: no repository at ${join(dir, 'none')} (create one with \`swarmd init --repo ${join(dir, 'none')}\`)`,
    )
  })
})
