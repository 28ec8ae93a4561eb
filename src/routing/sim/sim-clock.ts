/** The simulator's virtual clock: routers read it through the ordinary `Clock` interface. */
import type { Clock } from '../../common/index.ts'

export class SimClock implements Clock {
  t = 0
  now(): number {
    return this.t
  }
}
