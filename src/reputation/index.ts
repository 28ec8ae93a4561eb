/**
 * Reputation and trust: signed interaction reports, their gossip intake,
 * EigenTrust aggregation, stake and slashing, disputes, and the bid scorer
 * and router reward the market and router use. Pure logic: clock,
 * randomness, storage and money movements (`Funds`) are injected.
 *
 * @example
 * ```ts
 * import { ManualClock, MemoryKv } from '../common/index.ts'
 * import { ReportIntake, TrustEngine } from '../reputation/index.ts'
 * const trust = new TrustEngine({ preTrusted: [myAgentId] })
 * const intake = new ReportIntake({ clock, store: new MemoryKv(), isTaskKnown: market.knowsAward })
 * intake.onAccepted((r, coSigned, upgrade) => trust.addReport(r, coSigned, upgrade))
 * const result = await intake.receive(JSON.parse(msg), fromPeer) // → gossipsub accept/ignore/reject
 * trust.compute(clock.now()); trust.relativeTrust(bidder)
 * ```
 */

export * from './batch.ts'
export * from './dispute.ts'
export * from './evidence.ts'
export * from './funds.ts'
export * from './intake.ts'
export * from './report.ts'
export * from './scoring.ts'
export * from './sim.ts'
export * from './slash.ts'
export * from './stake.ts'
export * from './svg.ts'
export * from './trust.ts'
