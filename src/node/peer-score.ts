/**
 * A small per-peer score for protocol misbehaviour. Handlers call
 * `penalise(peer, points, reason)`; at or below `disconnectThreshold` the
 * peer is hung up on and refused (dials and inbound connections) for `banMs`.
 * Scores recover linearly towards 0 (`recoveryPerMinute`). In memory only:
 * a restart forgives.
 */
import type { Clock } from '../common/index.ts'

export interface PeerScoreInit {
  /** @default -100 */
  disconnectThreshold?: number
  /** @default 600_000 */
  banMs?: number
  /** @default 10 */
  recoveryPerMinute?: number
}

export const PENALTY = {
  /** Garbage or undecodable frame. */
  MALFORMED: 25,
  /** Frame above the size limit. */
  OVERSIZED: 40,
  /** Stream ended inside a frame. */
  TRUNCATED: 10,
  /** Bad signature or a sender key that is not the peer's. */
  BAD_SIGNATURE: 50,
  /** Timestamp too far off, or a replayed nonce. */
  STALE: 10,
  /** Unknown envelope version or type for the protocol. */
  UNSUPPORTED: 5,
} as const

export interface PeerScoreEntry {
  score: number
  bannedUntil: number | undefined
}

export interface PeerScore {
  /** Lower a peer's score; returns the new score. */
  penalise(peerId: string, points: number, reason: string): number
  /** Current score (0 = neutral; never positive). */
  get(peerId: string): number
  isBanned(peerId: string): boolean
  /** All peers with a non-zero score or a ban. */
  list(): { peerId: string; score: number; bannedUntil?: number }[]
  /** Called when a peer crosses the threshold (the node hangs up on it). */
  onBan(fn: (peerId: string, reason: string) => void): void
}

export function createPeerScore(clock: Clock, init: PeerScoreInit = {}): PeerScore {
  const threshold = init.disconnectThreshold ?? -100
  const banMs = init.banMs ?? 600_000
  const recovery = (init.recoveryPerMinute ?? 10) / 60_000
  const entries = new Map<string, { score: number; at: number; bannedUntil: number | undefined }>()
  const listeners: ((peerId: string, reason: string) => void)[] = []

  const current = (peerId: string): { score: number; at: number; bannedUntil: number | undefined } => {
    const now = clock.now()
    const e = entries.get(peerId) ?? { score: 0, at: now, bannedUntil: undefined }
    e.score = Math.min(0, e.score + (now - e.at) * recovery)
    e.at = now
    if (e.bannedUntil !== undefined && e.bannedUntil <= now) e.bannedUntil = undefined
    if (e.score === 0 && e.bannedUntil === undefined) entries.delete(peerId)
    return e
  }

  return {
    penalise(peerId, points, reason) {
      const e = current(peerId)
      e.score -= Math.abs(points)
      entries.set(peerId, e)
      if (e.score <= threshold && e.bannedUntil === undefined) {
        e.bannedUntil = clock.now() + banMs
        for (const fn of listeners) {
          try {
            fn(peerId, reason)
          } catch {
            // a listener never breaks scoring
          }
        }
      }
      return e.score
    },
    get: (peerId) => current(peerId).score,
    isBanned: (peerId) => current(peerId).bannedUntil !== undefined,
    list() {
      return [...entries.keys()].map((peerId) => {
        const e = current(peerId)
        return e.bannedUntil === undefined
          ? { peerId, score: e.score }
          : { peerId, score: e.score, bannedUntil: e.bannedUntil }
      })
    },
    onBan(fn) {
      listeners.push(fn)
    },
  }
}
