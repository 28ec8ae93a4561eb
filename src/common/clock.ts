/**
 * Time as an injected input. Pure subsystems (routers, auctions, reputation,
 * the VM) never read `Date.now()` themselves: the daemon passes `systemClock`,
 * the simulator and tests pass a `ManualClock`, so runs replay from a seed.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (or since the start of a simulation). */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private t: number
  constructor(startMs = 0) {
    this.t = startMs
  }
  now(): number {
    return this.t
  }
  set(ms: number): void {
    this.t = ms
  }
  advance(ms: number): number {
    this.t += ms
    return this.t
  }
}
