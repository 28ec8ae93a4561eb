/**
 * The swarmd node: repository, config, LevelDB, libp2p host, signed wire
 * protocol, capability discovery, control API. Other subsystems plug into a
 * started `SwarmNode` through its extension points:
 *
 * - `node.wire.handle(protocolId, handler, opts)` / `node.wire.request(peer, protocolId, msg, opts)` / `node.wire.send(...)`
 * - `node.control.route(method, path, handler)` (register before `start()`)
 * - `node.kv.sublevel('<prefix>')` (prefix registry: `KV_PREFIXES`, docs/node.md)
 * - `node.discovery` (provide / withdraw / find capabilities, putCard / getCard)
 * - `node.pubsub` (gossipsub), `node.peerScore` (penalise / get), `node.logger`, `node.metrics`
 * - `node.libp2p` (escape hatch), `node.onReady(fn)` (runs after start, before daemon.json)
 * - `node.service<E2EService>('e2e')`: end-to-end agent messaging (registerAgent / send / seal / open / inbox)
 * - `node.service<MarketService>('market')`: CFPs, auctions, escrow and settlement (issueCfp / registerBidHandler)
 *
 * @example
 * ```ts
 * import { initRepo, openRepo, SwarmNode } from '../node/index.ts'
 * await initRepo('/tmp/r', { overrides: { listen: ['/ip4/127.0.0.1/tcp/0'], 'api.port': 0, mdns: false } })
 * const node = new SwarmNode({ repo: openRepo('/tmp/r') })
 * await node.start()
 * await node.wire.handle('/swarmd/echo/1.0.0', (env) => ({ type: 'echo', payload: env.payload }))
 * await node.discovery.provide('image-ocr')
 * await node.stop()
 * ```
 */
export type { AgentCard, AgentCardBody } from './agent-card.ts'
export { CARD_DOMAIN, cardKey, checkDhtCard, decodeCard, encodeCard, newerCard } from './agent-card.ts'
export { NodeClient } from './client.ts'
export type { ConfigOverrides, NodeConfig } from './config.ts'
export { applyOverrides, DEFAULT_CONFIG, parseConfig } from './config.ts'
export type { ControlHandler, ControlRequest, HttpMethod } from './control.ts'
export { ControlServer, RawResponse } from './control.ts'
export { Db, KV_PREFIXES, LevelKv } from './db.ts'
export type { E2EServiceInit, InboundMessage, LocalAgentEndpoint, SendResult } from './e2e/index.ts'
export { E2E_PROTOCOL, E2EService } from './e2e/index.ts'
export type { FindOptions, Provider } from './discovery.ts'
export type { BidHandler, CfpRequest, IssuedCfp, TaskRunner } from './market/index.ts'
export { MARKET_PROTOCOL, MARKET_SERVICE, MarketService } from './market/index.ts'
export { CAPABILITY_PREFIX, capabilityCid, checkCapabilityName, Discovery } from './discovery.ts'
export { DHT_PROTOCOL } from './host.ts'
export type { NodeMetrics } from './metrics.ts'
export type { NodeStatus, PeerSummary, SwarmNodeInit } from './node.ts'
export type { NodeService } from './node.ts'
export { NODE_PROTOCOL, SwarmNode } from './node.ts'
export { defaultServices } from './services.ts'
export type { PeerScore } from './peer-score.ts'
export { PENALTY } from './peer-score.ts'
export type { DaemonInfo, Repo } from './repo.ts'
export { initRepo, openRepo, REPO_VERSION, repoExists, repoPaths, resolveRepoPath } from './repo.ts'
export { SWARMD_VERSION } from './version.ts'
export type { Envelope, OutboundMessage, WireRejectReason } from './wire/envelope.ts'
export { ENVELOPE_VERSION, WireError } from './wire/envelope.ts'
export type { HandleOptions, RequestOptions, WireContext, WireHandler } from './wire/wire.ts'
export { Wire } from './wire/wire.ts'
