/**
 * A typed client of the control API, used by the CLI. It finds the daemon of
 * a repository through `<repo>/daemon.json` (API port) and `<repo>/api-token`.
 */
import { readFileSync } from 'node:fs'
import { SwarmdError, UserError } from '../common/index.ts'
import type { Provider } from './discovery.ts'
import type { NodeStatus, PeerSummary } from './node.ts'
import { type DaemonInfo, lockHolder, readDaemonInfo, repoPaths } from './repo.ts'

export interface FindResult {
  capability: string
  providers: Provider[]
  elapsedMs: number
}

export function noDaemon(root: string): UserError {
  return new UserError(
    `no daemon running for repository ${root} (start one with \`swarmd start --repo ${root}\`)`,
  )
}

export class NodeClient {
  readonly root: string
  readonly info: DaemonInfo
  private readonly token: string
  private readonly base: string

  constructor(root: string, info: DaemonInfo, token: string) {
    this.root = root
    this.info = info
    this.token = token
    this.base = `http://127.0.0.1:${info.apiPort}`
  }

  /** The client of the daemon running on `root`; throws a one-line error if there is none. */
  static forRepo(root: string): NodeClient {
    const info = readDaemonInfo(root)
    if (!info || lockHolder(repoPaths(root).lock) === undefined) throw noDaemon(root)
    let token: string
    try {
      token = readFileSync(repoPaths(root).token, 'utf8').trim()
    } catch {
      throw new UserError(`cannot read the API token of ${root} (${repoPaths(root).token})`)
    }
    return new NodeClient(root, info, token)
  }

  /** Like `forRepo` but returns undefined when no daemon runs. */
  static tryRepo(root: string): NodeClient | undefined {
    try {
      return NodeClient.forRepo(root)
    } catch {
      return undefined
    }
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    let res: Response
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'ECONNREFUSED') throw noDaemon(this.root)
      if ((err as Error).name === 'TimeoutError')
        throw new SwarmdError('TIMEOUT', `the daemon did not answer ${path} within ${timeoutMs} ms`)
      throw new SwarmdError('CONTROL_FAILED', `control API request failed: ${(err as Error).message}`)
    }
    const text = await res.text()
    if (!res.ok) {
      let code = `HTTP_${res.status}`
      let message = text.trim()
      try {
        const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error
        code = e?.code ?? code
        message = e?.message ?? message
      } catch {
        // not JSON
      }
      if (res.status === 401)
        message = `the daemon refused our token (${repoPaths(this.root).token}): ${message}`
      throw new SwarmdError(code, message)
    }
    if (path === '/metrics') return text as T
    return JSON.parse(text) as T
  }

  id(): Promise<{ peerId: string; addresses: string[] }> {
    return this.request('GET', '/v1/id')
  }
  status(): Promise<NodeStatus> {
    return this.request('GET', '/v1/status')
  }
  peers(): Promise<{ peers: PeerSummary[] }> {
    return this.request('GET', '/v1/peers')
  }
  connect(multiaddr: string): Promise<PeerSummary> {
    return this.request('POST', '/v1/connect', { multiaddr })
  }
  capabilities(): Promise<{ capabilities: string[] }> {
    return this.request('GET', '/v1/caps')
  }
  provide(name: string): Promise<{ capability: string; provided: boolean; announcedTo: number }> {
    return this.request('POST', '/v1/caps/provide', { name }, 60_000)
  }
  withdraw(name: string): Promise<{ capability: string; withdrawn: boolean }> {
    return this.request('POST', '/v1/caps/withdraw', { name })
  }
  find(name: string, opts: { timeoutMs?: number; limit?: number; all?: boolean } = {}): Promise<FindResult> {
    const q = new URLSearchParams({ name })
    if (opts.all) q.set('all', 'true')
    if (opts.timeoutMs !== undefined) q.set('timeout', String(opts.timeoutMs))
    if (opts.limit !== undefined) q.set('limit', String(opts.limit))
    return this.request('GET', `/v1/caps/find?${q}`, undefined, (opts.timeoutMs ?? 10_000) + 10_000)
  }
  metrics(): Promise<string> {
    return this.request('GET', '/metrics')
  }
}
