/**
 * Reputation in the daemon, on three real libp2p nodes on loopback (one
 * process): report gossip with validation, trust views, stake and slashing
 * on a node's ledger, the CLI against a node, and persistence across a restart.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commands as repCommands } from '../../src/cli/rep.ts'
import { type Io, runCommand } from '../../src/cli/command.ts'
import type { ConfigOverrides } from '../../src/node/config.ts'
import { SwarmNode } from '../../src/node/node.ts'
import { type AgentReputation, ReputationService, type StakeState } from '../../src/node/reputation/index.ts'
import { initRepo, openRepo } from '../../src/node/repo.ts'
import {
  AWARD_DOMAIN,
  bidScorer,
  encodeReport,
  makeReport,
  REPORT_BATCH_TOPIC,
  REPORT_TOPIC,
  type ReportBody,
  type SignedReport,
  signEnvelope,
  verifySlash,
} from '../../src/reputation/index.ts'
import { agentKey } from '../unit/reputation/helpers.ts'
import { Cleanup, LOOPBACK, tempDir, waitFor } from './node_helpers.ts'

const req = agentKey(11) // the requester: pre-trusted by every node
const good = agentKey(12) // a provider that delivers
const bad = agentKey(13) // a provider that fails
const mallory = agentKey(14)

interface RepNode {
  node: SwarmNode
  rep: ReputationService
  root: string
}

async function startRepNode(
  cleanup: Cleanup,
  root: string,
  opts: { init?: ConfigOverrides; daemonInfo?: boolean } = {},
): Promise<RepNode> {
  if (opts.init) await initRepo(root, { overrides: { ...LOOPBACK, ...opts.init } })
  const rep = new ReputationService()
  const node = new SwarmNode({
    repo: openRepo(root),
    processMetrics: false,
    writeDaemonInfo: opts.daemonInfo ?? false,
    services: [rep],
  })
  await node.start()
  cleanup.push(() => node.stop())
  return { node, rep, root }
}

let taskSeq = 0
function report(provider: { id: string; sk: Uint8Array }, outcome: ReportBody['outcome'], rating: number) {
  const body: ReportBody = {
    taskId: `task-${++taskSeq}`,
    requester: req.id,
    provider: provider.id,
    outcome,
    latencyMs: 120,
    rating,
    price: 80,
    issuedAt: Date.now(),
  }
  return makeReport(body, req.sk, provider.sk) // both sides sign, as after every award
}

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  const io: Io = { out: (t) => void (out += t), err: (t) => void (out += t), isTty: false }
  const code = await runCommand({ name: 'swarmd', summary: '', subcommands: repCommands }, argv, io)
  return { code, out }
}

describe('reputation in the daemon (3 nodes on loopback)', () => {
  const cleanup = new Cleanup()
  let a: RepNode
  let b: RepNode
  let c: RepNode

  beforeAll(async () => {
    const dir = tempDir(cleanup, 'swarmd-rep-e2e-')
    const init: ConfigOverrides = {
      'reputation.preTrusted': [req.id],
      'reputation.trustIntervalMs': 100,
      'reputation.stake.deadlineGraceMs': 0,
    }
    a = await startRepNode(cleanup, join(dir, 'a'), { init })
    b = await startRepNode(cleanup, join(dir, 'b'), { init, daemonInfo: true })
    c = await startRepNode(cleanup, join(dir, 'c'), { init })
    // a line a — b — c: what c sees from a was validated and forwarded by b
    await b.node.connect(`${a.node.addresses()[0]}`)
    await c.node.connect(`${b.node.addresses()[0]}`)
    const subscribed = (x: RepNode, y: RepNode) =>
      [REPORT_TOPIC, REPORT_BATCH_TOPIC].every((t) =>
        x.node.pubsub.getSubscribers(t).some((p) => p.toString() === y.node.peerId),
      )
    await waitFor(() => subscribed(a, b) && subscribed(b, a) && subscribed(b, c) && subscribed(c, b))
  }, 60_000)
  afterAll(() => cleanup.run())

  it('a co-signed report published on one node is accepted by the others and changes their trust view', async () => {
    expect(b.rep.trustOf(good.id).trust).toBe(0)
    const published = await a.rep.publishReport(report(good, 'success', 1))
    expect(published.result.status).toBe('accepted')
    expect(published).toMatchObject({ queued: true, recipients: 0 }) // it leaves in the next batch
    for (const x of [b, c]) {
      await waitFor(() => x.rep.trustOf(good.id).reports.asProvider === 1)
      await waitFor(() => x.rep.trustOf(good.id).trust > 0) // the timer recomputed trust
      expect(x.rep.trustOf(good.id).relativeTrust).toBeGreaterThan(0.1)
    }
    expect(a.rep.trustOf(req.id).preTrusted).toBe(true)
  })

  it('reports published close together travel in fewer gossip messages than reports, all accepted', async () => {
    const n = 12
    const before = { a: a.rep.statistics(), b: b.rep.statistics(), c: c.rep.statistics() }
    const count = (x: RepNode) => x.rep.trustOf(good.id).reports.asProvider
    const counts = { b: count(b), c: count(c) }
    expect(count(a)).toBe(counts.b) // every node has seen the same reports so far
    const reports = Array.from({ length: n }, () => report(good, 'success', 1))
    const results = await Promise.all(reports.map((r) => a.rep.publishReport(r)))
    expect(results.every((r) => r.result.status === 'accepted' && r.queued)).toBe(true)
    await waitFor(() => count(b) === counts.b + n && count(c) === counts.c + n)
    const after = { a: a.rep.statistics(), b: b.rep.statistics(), c: c.rep.statistics() }
    const sent = after.a.batches.published - before.a.batches.published
    expect(after.a.published - before.a.published).toBe(n)
    expect(sent).toBeGreaterThanOrEqual(1)
    expect(sent).toBeLessThan(n)
    for (const k of ['b', 'c'] as const) {
      const got = after[k].batches.received - before[k].batches.received
      expect(got).toBeGreaterThanOrEqual(1)
      expect(got).toBeLessThan(n)
      expect(after[k].batches.receivedReports - before[k].batches.receivedReports).toBe(n)
      expect(after[k].accepted - before[k].accepted).toBe(n)
      expect(after[k].batches.rejected).toBe(before[k].batches.rejected)
    }
    // an older node publishes single reports on the old topic: still validated, accepted and relayed
    // (as an older publishReport did: its own intake first, then one message on REPORT_TOPIC)
    const single = encodeReport(report(good, 'success', 1))
    expect(await c.rep.validator(c.node.peerId, single)).toBe('accept')
    await c.node.pubsub.publish(REPORT_TOPIC, single)
    await waitFor(() => [a, b, c].every((x) => count(x) === counts.b + n + 1))
    // the CLI shows the batch counters
    const stats = await cli(['rep', 'stats', '--repo', b.root])
    expect(stats.out).toMatch(/batches: published 0, received \d+ \(\d+(\.\d)? reports each\)/)
  })

  it('a forged report is rejected, not forwarded, and the sender loses peer score', async () => {
    const genuine = report(good, 'failure', 0)
    const forged = { ...genuine, body: { ...genuine.body, provider: mallory.id } } // signatures no longer match
    expect(b.node.peerScore.get(c.node.peerId)).toBe(0)
    // c bypasses its own intake and pushes raw bytes onto the topic
    await c.node.pubsub.publish(REPORT_TOPIC, encodeReport(forged))
    await waitFor(() => b.node.peerScore.get(c.node.peerId) < 0)
    expect(b.rep.statistics().rejected.BAD_SIGNATURE).toBe(1)
    for (const x of [a, b, c]) expect(x.rep.trustOf(mallory.id).reports.asProvider).toBe(0)
    expect(b.node.peerScore.isBanned(c.node.peerId)).toBe(false)
  })

  it('an agent that fails tasks loses trust; a missed-deadline slash drops its stake and blacklists it', async () => {
    // bad starts well: two successes
    for (let k = 0; k < 2; k++) await a.rep.publishReport(report(bad, 'success', 1))
    await waitFor(() => b.rep.trustOf(bad.id).reports.asProvider === 2)
    b.rep.recompute()
    const before = b.rep.trustOf(bad.id)
    expect(before.relativeTrust).toBeGreaterThan(0.1)
    expect(before.distrust).toBe(0)

    // bad's node (b) holds its credits: bond through the CLI against the running daemon
    await b.rep.ledger.mint(bad.id, 300, 'test faucet')
    const bonded = await cli(['stake', 'bond', bad.id, '150', '--repo', b.root, '--json'])
    expect(bonded.code).toBe(0)
    expect(JSON.parse(bonded.out) as StakeState).toMatchObject({ bonded: 150, balance: 150 })
    const scorer = bidScorer()
    const ctx = async () => {
      const s = await b.rep.standing(bad.id)
      return { cfpValue: 500, requiredStake: b.rep.stake.stake.requiredStake(500), standing: () => s }
    }
    expect(scorer({ bidder: bad.id, price: 50 }, await ctx())).toMatchObject({ admit: true })

    // then it fails: five failure reports
    for (let k = 0; k < 5; k++) await a.rep.publishReport(report(bad, 'failure', 0))
    await waitFor(() => b.rep.trustOf(bad.id).reports.asProvider === 7)
    await waitFor(() => c.rep.trustOf(bad.id).reports.asProvider === 7)
    for (const x of [b, c]) {
      x.rep.recompute()
      const after = x.rep.trustOf(bad.id)
      expect(after.relativeTrust).toBeLessThan(before.relativeTrust / 10)
      expect(after.distrust).toBeGreaterThan(0)
      expect(after.relativeTrust).toBeLessThan(x.rep.trustOf(good.id).relativeTrust)
    }

    // and misses a deadline: the requester's signed award is the evidence
    const award = signEnvelope(
      AWARD_DOMAIN,
      { taskId: 'task-late', requester: req.id, provider: bad.id, price: 80, deadline: Date.now() - 1000 },
      req.sk,
    )
    const slash = await b.rep.stake.slashMissedDeadline(award)
    expect(slash).toMatchObject({ amount: 130, toVictim: 80, burned: 50, bondedAfter: 20, blacklisted: true })
    expect(verifySlash(slash)).toEqual({ ok: true })
    expect(await b.rep.ledger.balance(req.id)).toBe(80)
    expect((await b.rep.ledger.audit()).ok).toBe(true)

    const shown = await cli(['rep', 'show', bad.id, '--repo', b.root, '--json'])
    expect(shown.code).toBe(0)
    const r = JSON.parse(shown.out) as AgentReputation
    expect(r).toMatchObject({
      agentId: bad.id,
      reports: { asProvider: 7, asRequester: 0 },
      stake: { bonded: 20, unbonding: [], blacklisted: true },
    })
    expect(r.slashes).toHaveLength(1)
    expect(r.distrust).toBeGreaterThan(0)
    expect(scorer({ bidder: bad.id, price: 50 }, await ctx())).toEqual({
      admit: false,
      reason: 'blacklisted',
    })

    const text = await cli(['rep', 'show', bad.id, '--repo', b.root])
    expect(text.out).toMatch(/BLACKLISTED/)
    expect(text.out).toMatch(/missed-deadline: 130/)
    const top = await cli(['rep', 'top', '--limit', '3', '--repo', b.root, '--json'])
    const agents = (JSON.parse(top.out) as { agents: { agentId: string }[] }).agents.map((x) => x.agentId)
    expect(agents[0]).toBe(req.id)
    expect(agents).toContain(good.id)
    expect(agents.indexOf(good.id)).toBeLessThan(agents.includes(bad.id) ? agents.indexOf(bad.id) : 99)
  })

  it('a one-sided report is held by nodes that do not know the task, and accepted once the market registers it', async () => {
    const body: ReportBody = {
      taskId: 'task-one-sided',
      requester: req.id,
      provider: good.id,
      outcome: 'success',
      latencyMs: 90,
      rating: 0.8,
      price: 30,
      issuedAt: Date.now(),
    }
    await a.rep.registerTask(body.taskId, body.requester, body.provider) // a made the award
    const one = makeReport(body, req.sk) // the provider has not counter-signed (yet)
    const before = b.rep.trustOf(good.id).reports.asProvider
    const pub = await a.rep.publishReport(one)
    expect(pub.result).toMatchObject({ status: 'accepted', coSigned: false })
    await waitFor(() => b.rep.intake.heldCount === 1)
    expect(b.rep.trustOf(good.id).reports.asProvider).toBe(before)
    await b.rep.registerTask(body.taskId, body.requester, body.provider) // b's market learns the award
    expect(b.rep.intake.heldCount).toBe(0)
    expect(b.rep.trustOf(good.id).reports.asProvider).toBe(before + 1)
    // c's market was never told: the report does not count there (b did not relay a batch it could only hold)
    expect(c.rep.trustOf(good.id).reports.asProvider).toBe(before)
  })

  it('stake release: unbond now, paid back only after the delay', async () => {
    await b.rep.ledger.mint(good.id, 200, 'test faucet')
    await b.rep.bond(good.id, 200)
    const res = await cli(['stake', 'release', good.id, '50', '--repo', b.root, '--json'])
    expect(res.code).toBe(0)
    const r = JSON.parse(res.out) as {
      unbonded: number
      released: number
      releaseAt: number
      state: StakeState
    }
    expect(r).toMatchObject({ unbonded: 50, released: 0, state: { bonded: 150, balance: 0 } })
    expect(r.releaseAt).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000)
    const shown = await cli(['stake', 'show', good.id, '--repo', b.root])
    expect(shown.out).toMatch(/bonded 150, balance 0\n {2}unbonding 50 until/)
    await expect(cli(['stake', 'release', good.id, '500', '--repo', b.root])).rejects.toThrow(
      /bonded 150 < 500/,
    )
  })

  it('a restarted node keeps its reports, trust view, stake and slashes', async () => {
    b.rep.recompute()
    const goodBefore = b.rep.trustOf(good.id)
    const badBefore = b.rep.trustOf(bad.id)
    const edges = b.rep.trust.edges
    await b.node.stop()
    const b2 = await startRepNode(cleanup, b.root)
    expect(b2.rep.trust.edges).toBe(edges)
    const goodAfter = b2.rep.trustOf(good.id)
    expect(goodAfter.reports).toEqual(goodBefore.reports)
    expect(goodAfter.relativeTrust).toBeCloseTo(goodBefore.relativeTrust, 4)
    expect(b2.rep.trustOf(bad.id).relativeTrust).toBeCloseTo(badBefore.relativeTrust, 4)
    const shown = await b2.rep.show(bad.id)
    expect(shown.stake).toMatchObject({ bonded: 20, blacklisted: true })
    expect(shown.slashes).toHaveLength(1)
    expect(await b2.rep.ledger.balance(req.id)).toBe(80)
    // an old report arriving again is a duplicate, not a second rating
    let first: SignedReport | undefined
    for await (const x of b2.rep.intake.accepted()) {
      first = x.report
      break
    }
    const again = await b2.rep.publishReport(first!)
    expect(again.result).toMatchObject({ status: 'rejected', reason: 'DUPLICATE' })
    expect(b2.rep.trust.edges).toBe(edges)
  })
})
