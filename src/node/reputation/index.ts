/**
 * The reputation service of the daemon: report gossip with validation,
 * persisted reports, this node's trust view, stake on the node's ledger, and
 * the control routes behind `swarmd rep ...` / `swarmd stake ...`.
 *
 * @example
 * ```ts
 * import { ReputationService } from '../node/reputation/index.ts'
 * const rep = new ReputationService()
 * const node = new SwarmNode({ repo, services: [rep] })
 * await node.start()
 * await rep.registerTask(award.taskId, award.requester, award.provider) // on each award
 * await rep.publishReport(makeReport(body, requesterSk, providerSk))    // after the result (queued, sent in a batch)
 * rep.trustOf(agentId).relativeTrust; await rep.standing(agentId)        // in the auction
 * ```
 */
export { type BatchTimers, ReportBatcher, type ReportBatcherInit } from './batcher.ts'
export { ReputationClient, type ReleaseResult } from './client.ts'
export { registerReputationRoutes } from './routes.ts'
export {
  type AgentReputation,
  type AgentTrust,
  checkAgentId,
  type PublishOptions,
  type PublishResult,
  REPUTATION_PREFIX,
  ReputationService,
  type ReputationServiceInit,
  type ReputationStats,
} from './service.ts'
export {
  LedgerFunds,
  NodeStake,
  type NodeStakeParams,
  STAKE_BURNED_ACCOUNT,
  STAKE_POOL_ACCOUNT,
  STAKE_PREFIX,
  type StakeState,
} from './stake.ts'
export { TaskRegistry, type TaskRecord } from './tasks.ts'
export {
  type BatchOutcome,
  createReportBatchValidator,
  createReportValidator,
  type GossipVerdict,
  REPORT_PENALTY,
  type ReportBatchValidatorDeps,
  type ReportValidator,
} from './validator.ts'
