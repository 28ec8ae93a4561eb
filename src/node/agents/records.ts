/**
 * Host answers of hosted agents, kept across restarts so that `swarmd agent
 * trace` exports ONE replayable trace of an agent's whole life, even after a
 * `kill -9`. Every checkpoint write (see `AgentRuntime`'s `onCheckpoint`)
 * adds the answers recorded since the previous one to the same atomic batch,
 * so the stored answers always match the stored checkpoint exactly.
 *
 * Keys (in the VM store): `trace/<id>/src` (program at deploy), `trace/<id>/h/<n>`
 * (answer n), `trn/<id>` (how many answers belong to the checkpoint).
 */
import type { KvStore } from '../../common/index.ts'
import type { HostRecord, Machine, Value } from '../../vm/index.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()
const json = (v: unknown) => enc.encode(JSON.stringify(v))
const idx = (n: number) => String(n).padStart(12, '0')

export interface TraceStart {
  file: string
  source: string
  gasLimit: number
  inputs: Record<string, Value>
}

interface Live {
  machine: Machine
  /** Answers stored and dropped from memory (restored from a checkpoint, or trimmed). */
  base: number
  /** Answers of `machine.gate.records` staged in a checkpoint write. */
  saved: number
  /** The last write was staged inside a commit hook (its host call still running). */
  unconfirmed: { index: number; savedBefore: number } | null
}

export class HostRecords {
  private readonly store: KvStore
  private readonly counts = new Map<string, number>()
  private readonly live = new Map<string, Live>()

  constructor(store: KvStore) {
    this.store = store
  }

  /** Load how many answers each agent has stored (call before restoring agents). */
  async load(): Promise<void> {
    for await (const [k, v] of this.store.entries('trn/')) this.counts.set(k.slice(4), Number(dec.decode(v)))
  }

  async saveStart(agentId: string, start: TraceStart): Promise<void> {
    await this.store.put(`trace/${agentId}/src`, json(start))
  }

  async start(agentId: string): Promise<TraceStart | undefined> {
    const v = await this.store.get(`trace/${agentId}/src`)
    return v === undefined ? undefined : (JSON.parse(dec.decode(v)) as TraceStart)
  }

  /** `onMachine` hook: a machine was created for `agentId` (deploy or restore). */
  attach = (agentId: string, machine: Machine): void => {
    this.live.set(agentId, { machine, base: this.counts.get(agentId) ?? 0, saved: 0, unconfirmed: null })
  }

  /** `onCheckpoint` hook: stage the answers recorded since the last checkpoint. */
  stage = (agentId: string, machine: Machine, put: (key: string, value: Uint8Array) => void): void => {
    const l = this.live.get(agentId)
    const recs = machine.gate.records
    if (!l || l.machine !== machine || !recs) return
    if (l.unconfirmed) {
      // a commit that failed recorded its call as failed: that write never happened, stage again
      if (recs[l.unconfirmed.index]?.ok === false) l.saved = l.unconfirmed.savedBefore
      l.unconfirmed = null
    }
    if (l.saved > 0) {
      // stored: keep memory flat for long-lived agents
      recs.splice(0, l.saved)
      l.base += l.saved
      l.saved = 0
    }
    for (let i = 0; i < recs.length; i++) put(`trace/${agentId}/h/${idx(l.base + i)}`, json(recs[i]))
    let total = l.base + recs.length
    // A commit hook runs inside the host call that commits (PAY_AGENT, TX_COMMIT):
    // the checkpoint already counts that call as done, so its answer (true) is stored too.
    const inflight = machine.gate.inflight
    if (inflight) {
      const rec: HostRecord = { at: 0, kind: inflight.kind, args: inflight.args, ok: true, answer: true }
      put(`trace/${agentId}/h/${idx(total)}`, json(rec))
      total++
      l.unconfirmed = { index: recs.length, savedBefore: 0 }
    }
    put(`trn/${agentId}`, enc.encode(String(total)))
    l.saved = recs.length
  }

  /** Every answer of the agent's life: the stored ones, then those still in memory. */
  async all(agentId: string): Promise<HostRecord[]> {
    const l = this.live.get(agentId)
    const base = l?.base ?? this.counts.get(agentId) ?? 0
    const out: HostRecord[] = []
    for await (const [, v] of this.store.entries(`trace/${agentId}/h/`)) {
      if (out.length >= base) break
      out.push(JSON.parse(dec.decode(v)) as HostRecord)
    }
    if (l?.machine.gate.records) out.push(...l.machine.gate.records)
    return out
  }
}
