/**
 * Attack simulation: repeated single-unit procurement auctions on the real
 * trust engine, bid scorer and stake ledger, with a share of malicious
 * agents running one of three attacks:
 * - `low-bid-fail`: bid far below cost, take the award, never deliver;
 * - `collusion`: the same, plus rings of colluders who file co-signed,
 *   top-rated reports about each other every round;
 * - `whitewash`: the same, plus a fresh identity (with a fresh bond) each
 *   time the old one is blacklisted.
 * The clearing rule is a local weighted second-price auction
 * (`weightedSecondPrice`), standing in for the market's VCG. Everything is
 * driven by one seed. Reports are fed to the trust engine directly (the
 * signing and gossip intake are tested separately; signing 10^4 reports per
 * run would only slow the simulation down). Missed deadlines are slashed
 * through the real `StakeLedger` with real signed awards.
 */
import {
  KvTransaction,
  ManualClock,
  MemoryKv,
  type SeededRandom,
  seededRandom,
  signingKeyFromSeed,
  toHex,
} from '../common/index.ts'
import { AWARD_DOMAIN, signEnvelope } from './evidence.ts'
import { KvFunds } from './funds.ts'
import { bidScorer, StrangerPolicy, weightedSecondPrice } from './scoring.ts'
import { StakeLedger } from './stake.ts'
import { type Interaction, TrustEngine } from './trust.ts'

export type AttackKind = 'low-bid-fail' | 'collusion' | 'whitewash'
export type AttackChoice = AttackKind | 'all'
export const ATTACKS: readonly AttackChoice[] = ['low-bid-fail', 'collusion', 'whitewash', 'all']

export interface SimConfig {
  agents: number
  /** Share of malicious agents. */
  malicious: number
  rounds: number
  auctionsPerRound: number
  /** Bidders sampled per auction. */
  bidders: number
  attack: AttackChoice
  seed: number
  /** Score bids by trust (false: every bid weight 1). */
  useTrust: boolean
  /** Require and slash stake (false: no bonds, no blacklist). */
  useStake: boolean
  /** Share of honest agents the operator pre-trusts. */
  preTrusted: number
}

export const DEFAULT_SIM: SimConfig = {
  agents: 100,
  malicious: 0.2,
  rounds: 100,
  auctionsPerRound: 20,
  bidders: 8,
  attack: 'all',
  seed: 1,
  useTrust: true,
  useStake: true,
  preTrusted: 0.05,
}

export const WIN_RATE_TARGET = 0.05
const HONEST_BOND = 300
const ROUND_MS = 3600_000
const MALICIOUS_SUCCESS = 0.1
const FAKE_REPORTS_PER_COLLUDER = 3
const RING_SIZE = 5
/** The scorer's default newcomer threshold (relative trust). */
const MIN_TRUST = 0.001
/** Newcomers' bonds must be this old (24 rounds, a day) before they may bid. */
const NEWCOMER_BOND_AGE_MS = 24 * ROUND_MS

export interface RoundStats {
  round: number
  auctions: number
  maliciousWins: number
  maliciousWinRate: number
  /** Cumulative honest profit (payments − work cost − slashes), all honest agents. */
  honestProfit: number
  /** Identities the attackers have used so far. */
  identities: number
}

export interface AttackCost {
  attack: AttackKind
  attackers: number
  identities: number
  wins: number
  delivered: number
  payments: number
  workCost: number
  slashed: number
  /** payments − workCost − slashed. */
  net: number
}

export interface SimResult {
  config: SimConfig
  rounds: RoundStats[]
  /** First round from which the 5-round moving average of the malicious win rate stays below 5 %. */
  belowTargetFrom: number | undefined
  honest: { agents: number; profit: number; meanProfit: number; wins: number; slashed: number }
  attacks: AttackCost[]
}

interface Identity {
  id: string
  sk: Uint8Array
  owner: number
  retired: boolean
}

interface Owner {
  kind: 'honest' | AttackKind
  cost: number
  quality: number
  current: Identity
  ring: number
}

export async function runSim(partial: Partial<SimConfig> = {}): Promise<SimResult> {
  const cfg: SimConfig = { ...DEFAULT_SIM, ...partial }
  const rng = seededRandom(cfg.seed)
  const clock = new ManualClock(0)
  const root = new MemoryKv()
  const funds = new KvFunds(root)
  const stake = new StakeLedger({ store: root, funds, clock, minimumStake: 100, deadlineGraceMs: 0 })
  const nMal = Math.round(cfg.agents * cfg.malicious)
  const kinds: AttackKind[] = cfg.attack === 'all' ? ['low-bid-fail', 'collusion', 'whitewash'] : [cfg.attack]

  const owners: Owner[] = []
  const byId = new Map<string, Identity>()
  const newIdentity = async (owner: number, bond: number): Promise<Identity> => {
    const seed = new Uint8Array(32)
    for (let k = 0; k < 32; k += 4) new DataView(seed.buffer).setUint32(k, rng.nextU32())
    const key = signingKeyFromSeed(seed)
    const ident: Identity = { id: toHex(key.publicKey), sk: key.secretKey, owner, retired: false }
    byId.set(ident.id, ident)
    const tx = new KvTransaction(root)
    await funds.credit(ident.id, 1_000_000, tx)
    await tx.commit()
    if (cfg.useStake) await stake.bond(ident.id, bond)
    return ident
  }
  for (let i = 0; i < cfg.agents; i++) {
    const kind: Owner['kind'] = i < cfg.agents - nMal ? 'honest' : kinds[i % kinds.length]!
    const honest = kind === 'honest'
    const owner: Owner = {
      kind,
      cost: 40 + rng.int(60),
      quality: honest ? 0.95 + 0.04 * rng.next() : MALICIOUS_SUCCESS,
      current: undefined as unknown as Identity,
      ring: Math.floor(i / RING_SIZE),
    }
    owners.push(owner)
    owner.current = await newIdentity(i, honest ? HONEST_BOND : 100)
  }
  // the starting population has been around long enough for its bonds to be seasoned
  clock.set(NEWCOMER_BOND_AGE_MS)
  const honestOwners = owners.map((_, i) => i).filter((i) => owners[i]!.kind === 'honest')
  const nPre = Math.max(1, Math.round(honestOwners.length * cfg.preTrusted))
  // Personal views: every honest requester runs its own engine, pre-trusting
  // the operator's set and itself, and hears every report (gossip).
  const operatorSet = honestOwners.slice(0, nPre).map((i) => owners[i]!.current.id)
  const views = new Map<number, TrustEngine>()
  for (const i of honestOwners) {
    const own = owners[i]!.current.id
    const v = new TrustEngine({
      preTrusted: operatorSet.includes(own) ? operatorSet : [...operatorSet, own],
      halfLifeMs: 7 * 24 * ROUND_MS,
    })
    v.compute(0)
    views.set(i, v)
  }
  const strangers = new Map(honestOwners.map((i) => [i, new StrangerPolicy()]))
  const report = (x: Interaction) => {
    for (const v of views.values()) v.addInteraction(x)
  }
  const score = bidScorer(
    cfg.useTrust ? { newcomerBondAgeMs: cfg.useStake ? NEWCOMER_BOND_AGE_MS : 0 } : { floorWeight: 1 },
  )

  const costs = new Map<AttackKind, AttackCost>(
    kinds.map((k) => [
      k,
      {
        attack: k,
        attackers: owners.filter((o) => o.kind === k).length,
        identities: owners.filter((o) => o.kind === k).length,
        wins: 0,
        delivered: 0,
        payments: 0,
        workCost: 0,
        slashed: 0,
        net: 0,
      },
    ]),
  )
  const honest = { agents: honestOwners.length, profit: 0, meanProfit: 0, wins: 0, slashed: 0 }
  const rounds: RoundStats[] = []
  let taskNo = 0

  for (let round = 1; round <= cfg.rounds; round++) {
    let malWins = 0
    let auctions = 0
    for (let a = 0; a < cfg.auctionsPerRound; a++) {
      const now = clock.advance(ROUND_MS / (cfg.auctionsPerRound + 1))
      const requesterOwner = honestOwners[rng.int(honestOwners.length)]!
      const requester = owners[requesterOwner]!.current
      const trust = views.get(requesterOwner)!
      const value = 150 + rng.int(150)
      const required = cfg.useStake ? stake.requiredStake(value) : 0
      const active = owners.map((o) => o.current).filter((x) => !x.retired && x.id !== requester.id)
      const bids = []
      const sampled = sample(rng, active, cfg.bidders)
      const policy = strangers.get(requesterOwner)!
      const anyTrusted = cfg.useTrust && sampled.some((x) => trust.relativeTrust(x.id) >= MIN_TRUST)
      const strangersAllowed = !cfg.useTrust || policy.allow(anyTrusted, rng.next())
      for (const ident of sampled) {
        const o = owners[ident.owner]!
        const price = o.kind === 'honest' ? o.cost : 20 + rng.int(15)
        const acc = cfg.useStake ? await stake.account(ident.id) : undefined
        const s = score(
          { bidder: ident.id, price },
          {
            cfpValue: value,
            requiredStake: required,
            strangersAllowed,
            standing: () => ({
              relativeTrust: cfg.useTrust ? trust.relativeTrust(ident.id) : 1,
              relativeDistrust: cfg.useTrust ? trust.relativeDistrust(ident.id) : 0,
              bonded: acc?.bonded ?? 0,
              bondAgeMs: acc?.bondedSince === undefined ? 0 : now - acc.bondedSince,
              blacklisted: acc?.blacklisted ?? false,
            }),
          },
        )
        if (s.admit) bids.push({ bidder: ident.id, price, weight: s.weight })
      }
      const award = weightedSecondPrice(bids, value)
      if (!award) continue
      auctions++
      const winner = byId.get(award.winner)!
      const o = owners[winner.owner]!
      const c = o.kind === 'honest' ? undefined : costs.get(o.kind)!
      if (c) {
        malWins++
        c.wins++
      } else honest.wins++
      const delivered = rng.next() < o.quality
      if (cfg.useTrust && trust.relativeTrust(winner.id) < MIN_TRUST) policy.record(delivered)
      if (delivered) {
        if (c) {
          c.delivered++
          c.payments += award.payment
          c.workCost += o.cost
        } else honest.profit += award.payment - o.cost
      }
      report({
        rater: requester.id,
        ratee: winner.id,
        outcome: delivered ? 'success' : 'timeout',
        rating: delivered ? 0.8 + 0.2 * rng.next() : 0,
        price: award.payment,
        issuedAt: now,
        coSigned: delivered,
      })
      if (!delivered && cfg.useStake) {
        const signed = signEnvelope(
          AWARD_DOMAIN,
          {
            taskId: `task-${++taskNo}`,
            requester: requester.id,
            provider: winner.id,
            price: award.payment,
            deadline: now - 1,
          },
          requester.sk,
        )
        const rec = await stake.slashMissedDeadline(signed)
        if (c) c.slashed += rec.amount
        else {
          honest.slashed += rec.amount
          honest.profit -= rec.amount
        }
        if (rec.blacklisted) {
          winner.retired = true
          if (o.kind === 'honest') o.current = await newIdentity(winner.owner, HONEST_BOND)
        } else if (o.kind === 'honest') await stake.bond(winner.id, HONEST_BOND - rec.bondedAfter)
      }
      if (!delivered && o.kind === 'whitewash') {
        // a whitewasher drops an identity as soon as it has failed with it
        winner.retired = true
        o.current = await newIdentity(winner.owner, 100)
        c!.identities++
      }
    }
    // colluders rate their ring-mates up with co-signed, top-rated reports
    for (const o of owners) {
      if (o.kind !== 'collusion' || o.current.retired) continue
      const mates = owners.filter(
        (m) => m !== o && m.kind === 'collusion' && m.ring === o.ring && !m.current.retired,
      )
      for (let k = 0; k < FAKE_REPORTS_PER_COLLUDER && mates.length > 0; k++) {
        const m = mates[rng.int(mates.length)]!
        report({
          rater: o.current.id,
          ratee: m.current.id,
          outcome: 'success',
          rating: 1,
          price: 300,
          issuedAt: clock.now(),
          coSigned: true,
        })
      }
    }
    for (const v of views.values()) v.compute(clock.now())
    rounds.push({
      round,
      auctions,
      maliciousWins: malWins,
      maliciousWinRate: auctions ? malWins / auctions : 0,
      honestProfit: honest.profit,
      identities: [...costs.values()].reduce((s, c) => s + c.identities, 0),
    })
  }
  for (const c of costs.values()) c.net = c.payments - c.workCost - c.slashed
  honest.meanProfit = honest.profit / honest.agents
  return { config: cfg, rounds, belowTargetFrom: belowFrom(rounds), honest, attacks: [...costs.values()] }
}

function belowFrom(rounds: RoundStats[]): number | undefined {
  const avg = rounds.map((_, i) => {
    const w = rounds.slice(Math.max(0, i - 4), i + 1)
    const wins = w.reduce((s, r) => s + r.maliciousWins, 0)
    const n = w.reduce((s, r) => s + r.auctions, 0)
    return n ? wins / n : 0
  })
  let from: number | undefined
  for (let i = avg.length - 1; i >= 0; i--) {
    if (avg[i]! < WIN_RATE_TARGET) from = rounds[i]!.round
    else break
  }
  return from
}

function sample<T>(rng: SeededRandom, xs: readonly T[], k: number): T[] {
  const a = [...xs]
  const n = Math.min(k, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(a.length - i)
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
  return a.slice(0, n)
}
