/**
 * The router's reward for a routed CFP once its auction's outcome is known
 * (docs/routing-daemon.md, "Outcome quality in the router's reward"): the
 * time to the first bid scaled by the outcome's quality
 * r = routingReward(outcome, latency, rating) in [−1, 1]: reported time =
 * firstBid × (2 − r), success = r > 0. A fast, well-rated delivery keeps the
 * measured time; a failure (r = −0.5) counts 2.5×, a timeout (r = −1) 3× and
 * as a failed route. Without an outcome (no award): the plain time, a success.
 */
import { type Outcome, routingReward } from '../../reputation/index.ts'

export function outcomeRouteCost(
  firstBidMs: number,
  result?: { outcome: Outcome; latencyMs: number; rating: number },
): { totalMs: number; success: boolean } {
  if (!result) return { totalMs: firstBidMs, success: true }
  const r = routingReward(result.outcome, result.latencyMs, result.rating)
  return { totalMs: firstBidMs * (2 - r), success: r > 0 }
}
