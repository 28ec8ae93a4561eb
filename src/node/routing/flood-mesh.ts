/**
 * Keeps the flooding baseline reachable. A flooded CFP is a gossipsub message
 * on the capability's topic, and gossipsub only reaches subscribers through
 * connected subscribers: a requester connected to no provider publishes to
 * nobody, and providers that happen not to be connected to each other form
 * separate meshes. `FloodMesh.ensure` looks the capability's providers up in
 * the DHT and dials some of them until `minPeers` subscribers are connected;
 * the routing service runs it for every topic it subscribes to (so providers
 * join one mesh) and before a flood from a node without subscribed peers.
 *
 * Lookups back off per capability (5 s doubling to 60 s) while they find
 * nobody new to dial, so a capability with fewer providers than `minPeers`
 * does not cost a DHT query per CFP.
 */
import type { Logger, Random } from '../../common/index.ts'

export interface FloodMeshDeps {
  self: string
  /** Connected peers subscribed to `topic`. */
  subscribers(topic: string): number
  /** Providers of `capability` from the DHT (may include this node). */
  find(capability: string): Promise<{ peerId: string; addresses: string[] }[]>
  connected(peerId: string): boolean
  dial(peerId: string, addresses: string[]): Promise<void>
  now(): number
  random: Random
  log: Logger
}

/** Connected subscribers a topic should have. @default 3 */
export const FLOOD_MIN_PEERS = 3
const FIRST_BACKOFF_MS = 5_000
const MAX_BACKOFF_MS = 60_000

export class FloodMesh {
  private readonly d: FloodMeshDeps
  private readonly minPeers: number
  private readonly state = new Map<string, { nextAt: number; backoffMs: number }>()
  private readonly running = new Map<string, Promise<number>>()

  constructor(deps: FloodMeshDeps, minPeers = FLOOD_MIN_PEERS) {
    this.d = deps
    this.minPeers = minPeers
  }

  /** True when `topic` has fewer connected subscribers than wanted. */
  wants(topic: string): boolean {
    return this.d.subscribers(topic) < this.minPeers
  }

  /**
   * Dial providers of `capability` until `topic` has `minPeers` connected
   * subscribers (best effort). Resolves to the number of peers dialled; 0
   * at once when the topic has enough, or while the capability backs off.
   * Concurrent calls for one capability share one lookup.
   */
  ensure(capability: string, topic: string): Promise<number> {
    if (!this.wants(topic)) return Promise.resolve(0)
    const st = this.state.get(capability)
    if (st && this.d.now() < st.nextAt) return Promise.resolve(0)
    const existing = this.running.get(capability)
    if (existing) return existing
    const run = this.lookUp(capability, topic).finally(() => this.running.delete(capability))
    this.running.set(capability, run)
    return run
  }

  private async lookUp(capability: string, topic: string): Promise<number> {
    let dialled = 0
    try {
      const fresh = (await this.d.find(capability)).filter(
        (p) => p.peerId !== this.d.self && !this.d.connected(p.peerId),
      )
      // A random choice, so that providers do not all dial the same few and form cliques.
      for (let i = fresh.length - 1; i > 0; i--) {
        const j = Math.floor(this.d.random.next() * (i + 1))
        ;[fresh[i], fresh[j]] = [fresh[j]!, fresh[i]!]
      }
      const need = Math.max(0, this.minPeers - this.d.subscribers(topic))
      const pick = fresh.slice(0, need)
      const res = await Promise.allSettled(pick.map((p) => this.d.dial(p.peerId, p.addresses)))
      dialled = res.filter((r) => r.status === 'fulfilled').length
      if (dialled > 0) this.d.log.debug('flood mesh: dialled providers', { capability, dialled })
    } catch (err) {
      this.d.log.debug('flood mesh: provider lookup failed', { capability, error: err })
    }
    const prev = this.state.get(capability)
    const backoffMs =
      dialled > 0 ? FIRST_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, (prev?.backoffMs ?? FIRST_BACKOFF_MS / 2) * 2)
    this.state.set(capability, { nextAt: this.d.now() + backoffMs, backoffMs })
    return dialled
  }
}
