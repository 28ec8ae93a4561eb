/**
 * Randomness as an injected input. `seededRandom(seed)` is a fast,
 * reproducible generator (xoshiro128**, seeded through splitmix32) for the
 * simulator, tests and replay; `cryptoRandom` is for the daemon where
 * unpredictability matters (arbitrator draws, exploration on a live network).
 */
import { randomBytes } from 'node:crypto'

export interface Random {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, n). */
  int(n: number): number
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x9e3779b9) >>> 0
    let z = a
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** A reproducible generator: the same seed gives the same sequence on every machine. */
export class SeededRandom implements Random {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: number) {
    const sm = splitmix32(seed)
    this.s0 = sm()
    this.s1 = sm()
    this.s2 = sm()
    this.s3 = sm()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** 32 random bits as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  next(): number {
    return this.nextU32() / 4294967296
  }

  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** An independent generator derived from this one (for sub-components). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextU32())
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

export function seededRandom(seed: number): SeededRandom {
  return new SeededRandom(seed)
}

/** Unpredictable randomness from the operating system. */
export const cryptoRandom: Random = {
  next: () => randomBytes(4).readUInt32BE(0) / 4294967296,
  int: (n: number) => Math.floor((randomBytes(4).readUInt32BE(0) / 4294967296) * n),
}
