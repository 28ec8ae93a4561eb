/** Shared helpers for the node e2e suites: temp repos, in-process nodes, a cleanup stack. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConfigOverrides } from '../../src/node/config.ts'
import { SwarmNode } from '../../src/node/node.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'

export class Cleanup {
  private readonly stack: (() => Promise<void> | void)[] = []
  push(fn: () => Promise<void> | void): void {
    this.stack.push(fn)
  }
  async run(): Promise<void> {
    while (this.stack.length > 0) {
      const fn = this.stack.pop()!
      try {
        await fn()
      } catch {
        // keep cleaning
      }
    }
  }
}

export function tempDir(cleanup: Cleanup, prefix = 'swarmd-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export const LOOPBACK: ConfigOverrides = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  'api.port': 0,
  mdns: false,
}

/** Create a repository and a started in-process node on loopback. */
export async function startNode(
  cleanup: Cleanup,
  dir: string,
  name: string,
  overrides: ConfigOverrides = {},
): Promise<SwarmNode> {
  const root = join(dir, name)
  await initRepo(root, { overrides: { ...LOOPBACK, ...overrides } })
  const node = new SwarmNode({ repo: openRepo(root), processMetrics: false, writeDaemonInfo: false })
  await node.start()
  cleanup.push(() => node.stop())
  return node
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  stepMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, stepMs))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}
