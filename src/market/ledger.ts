/**
 * The node's credit ledger over a `KvStore`: integer balances per account
 * (agent id), logged minting, transfers, escrow (lock on award, release of the
 * payment with the remainder refunded, refund on timeout or failure) and the
 * debit/credit halves of cross-node settlement (`receipts.ts`).
 *
 * Invariants (checked by `audit()`):
 *  - every write that moves credits is ONE atomic batch (a `KvTransaction`),
 *    or is folded into the caller's transaction when one is passed;
 *  - balances and escrows are non-negative whole numbers;
 *  - Σ balances + Σ open escrows + Σ settled out = Σ minted + Σ settled in;
 *  - every change is appended to the account's history in the same batch;
 *  - operations are idempotent by id (escrow id, receipt id, or `opId`): a
 *    repeat is a no-op that says so, never a second payment.
 *
 * Writes are serialised inside one `Ledger` instance. When callers pass their
 * own transaction they must not run two transactions over the same accounts
 * at once (the VM runs one agent transaction at a time).
 */
import { type Clock, getJson, type KvStore, KvTransaction } from '../common/index.ts'
import { auditLedger } from './audit.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import type {
  EscrowRecord,
  EscrowResult,
  HistoryEntry,
  HistoryKind,
  LedgerReport,
  OpContext,
  OpOptions,
  OpResult,
  Totals,
  Wallet,
} from './ledger-types.ts'

export interface LedgerInit {
  store: KvStore
  clock: Clock
  /** Name of this node in audit reports. */
  node?: string
  /**
   * Key prefix of every ledger record. Pass the node's root store and keep
   * the prefix, so that an outer `KvTransaction` over that same store (the
   * VM's TX_BEGIN..TX_COMMIT, an auction step) can fold ledger writes in.
   * @default 'ledger/'
   */
  prefix?: string
}

const enc = new TextEncoder()
const ACCOUNT_RE = /^[A-Za-z0-9._:@-]{1,128}$/
const ID_RE = /^[A-Za-z0-9._:@/-]{1,200}$/
const SEQ_DIGITS = 12

/** Ledger record keys, all under one prefix of the store. */
export function ledgerKeys(p: string) {
  return {
    bal: (a: string) => `${p}b/${a}`,
    esc: (id: string) => `${p}e/${id}`,
    op: (id: string) => `${p}o/${id}`,
    hist: (a: string, seq: number) => `${p}h/${a}/${String(seq).padStart(SEQ_DIGITS, '0')}`,
    histSeq: (a: string) => `${p}hs/${a}`,
    mint: (seq: number) => `${p}m/${String(seq).padStart(SEQ_DIGITS, '0')}`,
    out: (id: string) => `${p}so/${id}`,
    in: (id: string) => `${p}si/${id}`,
    totals: `${p}t`,
    mintSeq: `${p}ms`,
  } as const
}

/** Default key prefix of the ledger inside the store it is given. */
export const LEDGER_PREFIX = 'ledger/'

function opts(ctx: OpContext | undefined): OpOptions {
  if (ctx === undefined) return {}
  return ctx instanceof KvTransaction ? { tx: ctx } : ctx
}

export function checkAccount(a: unknown, what = 'account'): string {
  if (typeof a !== 'string' || !ACCOUNT_RE.test(a))
    throw new MarketError(
      MarketErrorCode.BAD_ACCOUNT,
      `${what} must match ${ACCOUNT_RE}, got ${JSON.stringify(a)}`,
    )
  return a
}
export function checkId(id: unknown, what = 'id'): string {
  if (typeof id !== 'string' || !ID_RE.test(id))
    throw new MarketError(MarketErrorCode.BAD_INPUT, `${what} must match ${ID_RE}, got ${JSON.stringify(id)}`)
  return id
}
export function checkAmount(x: unknown, min = 1): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min)
    throw new MarketError(
      MarketErrorCode.BAD_AMOUNT,
      `amount must be a whole number >= ${min}, got ${String(x)}`,
    )
  return x
}

const put = (tx: KvTransaction, key: string, value: unknown) => tx.put(key, enc.encode(JSON.stringify(value)))

export class Ledger implements Wallet {
  private readonly store: KvStore
  private readonly clock: Clock
  private readonly node: string | undefined
  private readonly prefix: string
  private readonly k: ReturnType<typeof ledgerKeys>
  private chain: Promise<unknown> = Promise.resolve()

  constructor(init: LedgerInit) {
    this.store = init.store
    this.clock = init.clock
    this.node = init.node
    this.prefix = init.prefix ?? LEDGER_PREFIX
    this.k = ledgerKeys(this.prefix)
  }

  // ------------------------------------------------------------------ reads

  async balance(account: string): Promise<number> {
    return (await getJson<number>(this.store, this.k.bal(checkAccount(account)))) ?? 0
  }
  async escrow(id: string): Promise<EscrowRecord | undefined> {
    return getJson<EscrowRecord>(this.store, this.k.esc(id))
  }
  async escrows(status?: EscrowRecord['status']): Promise<EscrowRecord[]> {
    const out: EscrowRecord[] = []
    for await (const [, v] of this.store.entries(`${this.prefix}e/`)) {
      const e = JSON.parse(new TextDecoder().decode(v)) as EscrowRecord
      if (!status || e.status === status) out.push(e)
    }
    return out
  }
  /** Newest last; `limit` keeps the last N entries. */
  async history(account: string, limit?: number): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = []
    for await (const [, v] of this.store.entries(`${this.prefix}h/${checkAccount(account)}/`))
      out.push(JSON.parse(new TextDecoder().decode(v)) as HistoryEntry)
    return limit === undefined ? out : out.slice(-limit)
  }
  async accounts(): Promise<{ account: string; balance: number }[]> {
    const out: { account: string; balance: number }[] = []
    for await (const [k, v] of this.store.entries(`${this.prefix}b/`))
      out.push({
        account: k.slice(this.prefix.length + 2),
        balance: JSON.parse(new TextDecoder().decode(v)) as number,
      })
    return out
  }
  async totals(): Promise<Totals> {
    return (await getJson<Totals>(this.store, this.k.totals)) ?? { minted: 0, settledOut: 0, settledIn: 0 }
  }

  // ----------------------------------------------------------------- writes

  /** Create `amount` new credits on `account`; the only way credits come into existence. Logged. */
  async mint(account: string, amount: number, reason: string, ctx?: OpContext): Promise<OpResult> {
    checkAccount(account)
    checkAmount(amount)
    return this.write(ctx, async (tx, o) => {
      if (o.opId && (await this.seenOp(tx, o.opId, { kind: 'mint', account, amount })))
        return { status: 'duplicate' }
      const t = await this.readTotals(tx)
      const seq = await this.nextMintSeq(tx)
      put(tx, this.k.mint(seq), { seq, at: this.clock.now(), account, amount, reason, opId: o.opId })
      t.minted += amount
      put(tx, this.k.totals, t)
      await this.change(tx, account, amount, 'mint', undefined, reason)
      return { status: 'applied' }
    })
  }

  /** `Wallet.transfer`: move credits between two accounts of this node (see `pay` for the status). */
  async transfer(from: string, to: string, amount: number, ctx?: OpContext): Promise<void> {
    await this.pay(from, to, amount, ctx)
  }

  /** Move credits between two accounts of this node; `duplicate` when `opId` was already applied. */
  async pay(from: string, to: string, amount: number, ctx?: OpContext): Promise<OpResult> {
    checkAccount(from, 'from')
    checkAccount(to, 'to')
    checkAmount(amount)
    if (from === to) throw new MarketError(MarketErrorCode.BAD_ACCOUNT, 'cannot transfer to the same account')
    return this.write(ctx, async (tx, o) => {
      if (o.opId && (await this.seenOp(tx, o.opId, { kind: 'transfer', from, to, amount })))
        return { status: 'duplicate' }
      await this.change(tx, from, -amount, 'transfer-out', to, o.memo)
      await this.change(tx, to, amount, 'transfer-in', from, o.memo)
      return { status: 'applied' }
    })
  }

  /** Move `amount` from `payer` into a new escrow `escrowId` (on award). Idempotent by escrow id. */
  async lock(
    escrowId: string,
    payer: string,
    amount: number,
    terms: unknown,
    ctx?: OpContext,
  ): Promise<EscrowResult> {
    checkId(escrowId, 'escrow id')
    checkAccount(payer, 'payer')
    checkAmount(amount)
    return this.write(ctx, async (tx) => {
      const prev = await getJson<EscrowRecord>(tx, this.k.esc(escrowId))
      if (prev) {
        if (prev.payer !== payer || prev.amount !== amount)
          throw new MarketError(
            MarketErrorCode.ESCROW_CONFLICT,
            `escrow ${escrowId} already exists for ${prev.amount} from ${prev.payer}`,
          )
        return { status: 'duplicate', escrow: prev }
      }
      await this.change(tx, payer, -amount, 'escrow-lock', escrowId)
      const escrow: EscrowRecord = {
        id: escrowId,
        payer,
        amount,
        terms,
        status: 'open',
        lockedAt: this.clock.now(),
      }
      put(tx, this.k.esc(escrowId), escrow)
      return { status: 'applied', escrow }
    })
  }

  /** Pay `amount` (≤ locked) of an open escrow to `payee` and refund the remainder to the payer. */
  async release(escrowId: string, payee: string, amount: number, ctx?: OpContext): Promise<EscrowResult> {
    checkAccount(payee, 'payee')
    checkAmount(amount, 0)
    return this.write(ctx, async (tx) => {
      const e = await this.openEscrow(tx, escrowId)
      if (e.status !== 'open') return { status: closedStatus(e), escrow: e }
      if (amount > e.amount)
        throw new MarketError(
          MarketErrorCode.BAD_AMOUNT,
          `release of ${amount} exceeds escrow ${escrowId} (${e.amount})`,
        )
      const rest = e.amount - amount
      if (amount > 0) await this.change(tx, payee, amount, 'escrow-payout', escrowId)
      if (rest > 0) await this.change(tx, e.payer, rest, 'escrow-release', escrowId)
      const done: EscrowRecord = {
        ...e,
        status: 'released',
        closedAt: this.clock.now(),
        payee,
        paid: amount,
        refunded: rest,
      }
      put(tx, this.k.esc(escrowId), done)
      return { status: 'applied', escrow: done }
    })
  }

  /** Return everything locked in an open escrow to its payer (timeout, failure, cancellation). */
  async refund(escrowId: string, reason: string, ctx?: OpContext): Promise<EscrowResult> {
    return this.write(ctx, async (tx) => {
      const e = await this.openEscrow(tx, escrowId)
      if (e.status !== 'open') return { status: closedStatus(e), escrow: e }
      await this.change(tx, e.payer, e.amount, 'escrow-refund', escrowId, reason)
      const done: EscrowRecord = {
        ...e,
        status: 'refunded',
        closedAt: this.clock.now(),
        refunded: e.amount,
        reason,
      }
      put(tx, this.k.esc(escrowId), done)
      return { status: 'applied', escrow: done }
    })
  }

  /**
   * Debit `from` for an outgoing cross-node payment and store `record` (the
   * signed receipt) under `receiptId`. Idempotent by receipt id: a repeat
   * returns the stored record. Used by `issueReceipt`.
   */
  async settleOut<R>(
    receiptId: string,
    from: string,
    amount: number,
    record: R,
    ctx?: OpContext,
  ): Promise<{ status: OpResult['status']; record: R }> {
    checkId(receiptId, 'receipt id')
    checkAccount(from, 'from')
    checkAmount(amount)
    return this.write(ctx, async (tx) => {
      const prev = await getJson<{ amount: number; record: R }>(tx, this.k.out(receiptId))
      if (prev) return { status: 'duplicate', record: prev.record }
      await this.change(tx, from, -amount, 'settle-out', receiptId)
      const t = await this.readTotals(tx)
      t.settledOut += amount
      put(tx, this.k.totals, t)
      put(tx, this.k.out(receiptId), { amount, record })
      return { status: 'applied', record }
    })
  }

  /** Credit `to` for an incoming receipt; a receipt id is credited at most once (else RECEIPT_REPLAY). */
  async settleIn(
    receiptId: string,
    to: string,
    amount: number,
    record: unknown,
    ctx?: OpContext,
  ): Promise<OpResult> {
    checkId(receiptId, 'receipt id')
    checkAccount(to, 'to')
    checkAmount(amount)
    return this.write(ctx, async (tx) => {
      if ((await tx.get(this.k.in(receiptId))) !== undefined)
        throw new MarketError(MarketErrorCode.RECEIPT_REPLAY, `receipt ${receiptId} was already credited`, {
          action: 'ignore',
        })
      await this.change(tx, to, amount, 'settle-in', receiptId)
      const t = await this.readTotals(tx)
      t.settledIn += amount
      put(tx, this.k.totals, t)
      put(tx, this.k.in(receiptId), { amount, record })
      return { status: 'applied' }
    })
  }

  /**
   * Pay `amount` of an open escrow out of this node by receipt (the payee
   * lives on another node): the amount leaves the escrow as an outbound
   * settlement under `receiptId`, the remainder is refunded to the payer. The
   * receipt's payer must be the escrow's payer. Used by `releaseByReceipt`.
   */
  async releaseOut<R>(
    escrowId: string,
    payer: string,
    amount: number,
    receiptId: string,
    record: R,
    ctx?: OpContext,
  ): Promise<EscrowResult> {
    checkId(receiptId, 'receipt id')
    checkAmount(amount)
    return this.write(ctx, async (tx) => {
      const e = await this.openEscrow(tx, escrowId)
      if (e.status !== 'open') return { status: closedStatus(e), escrow: e }
      if (e.payer !== payer)
        throw new MarketError(
          MarketErrorCode.ESCROW_CONFLICT,
          `escrow ${escrowId} was locked by ${e.payer}, not ${payer}`,
        )
      if (amount > e.amount)
        throw new MarketError(
          MarketErrorCode.BAD_AMOUNT,
          `release of ${amount} exceeds escrow ${escrowId} (${e.amount})`,
        )
      if ((await tx.get(this.k.out(receiptId))) !== undefined)
        throw new MarketError(MarketErrorCode.RECEIPT_REPLAY, `receipt ${receiptId} was already issued`)
      const rest = e.amount - amount
      if (rest > 0) await this.change(tx, e.payer, rest, 'escrow-release', escrowId)
      const t = await this.readTotals(tx)
      t.settledOut += amount
      put(tx, this.k.totals, t)
      put(tx, this.k.out(receiptId), { amount, record })
      const done: EscrowRecord = {
        ...e,
        status: 'released',
        closedAt: this.clock.now(),
        payee: `receipt:${receiptId}`,
        paid: amount,
        refunded: rest,
      }
      put(tx, this.k.esc(escrowId), done)
      return { status: 'applied', escrow: done }
    })
  }

  /**
   * Run `fn` with a fresh transaction over the ledger's store, serialised
   * with every other write of this ledger, and commit it as one batch (abort
   * on error). Other subsystems that share the store (the auction house) put
   * their own records into the same batch as the ledger writes they pass `tx` to.
   */
  async atomic<T>(fn: (tx: KvTransaction) => Promise<T>): Promise<T> {
    const run = async () => {
      const tx = new KvTransaction(this.store)
      try {
        const r = await fn(tx)
        await tx.commit()
        return r
      } catch (err) {
        tx.abort()
        throw err
      }
    }
    return this.exclusive(run)
  }

  /**
   * Run `fn` serialised with every write of this ledger (no transaction of
   * its own): for writers that batch ledger records with other records
   * themselves (the agent host's wallet), so they never interleave with an
   * escrow lock or a settlement that reads the same balances.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn)
    this.chain = p.catch(() => undefined)
    return p
  }

  /** The store the ledger writes to (share it to fold other records into ledger batches). */
  get kv(): KvStore {
    return this.store
  }

  // ------------------------------------------------------------------ audit

  /** Recompute every total from the stored records and check conservation; serialised with this ledger's writes, so it reads one consistent state. */
  async audit(): Promise<LedgerReport> {
    return this.exclusive(() => auditLedger(this.store, this.prefix, this.clock.now(), this.node))
  }

  // -------------------------------------------------------------- internals

  private write<T>(
    ctx: OpContext | undefined,
    fn: (tx: KvTransaction, o: OpOptions) => Promise<T>,
  ): Promise<T> {
    const o = opts(ctx)
    if (o.opId !== undefined) checkId(o.opId, 'operation id')
    if (o.tx) return fn(o.tx, o)
    return this.atomic((tx) => fn(tx, o))
  }

  private async seenOp(tx: KvTransaction, opId: string, params: Record<string, unknown>): Promise<boolean> {
    const prev = await getJson<Record<string, unknown>>(tx, this.k.op(opId))
    const sig = JSON.stringify(params)
    if (prev) {
      if (JSON.stringify(prev) !== sig)
        throw new MarketError(
          MarketErrorCode.OP_CONFLICT,
          `operation ${opId} was already used for ${JSON.stringify(prev)}`,
        )
      return true
    }
    put(tx, this.k.op(opId), params)
    return false
  }

  private async openEscrow(tx: KvTransaction, escrowId: string): Promise<EscrowRecord> {
    checkId(escrowId, 'escrow id')
    const e = await getJson<EscrowRecord>(tx, this.k.esc(escrowId))
    if (!e) throw new MarketError(MarketErrorCode.UNKNOWN_ESCROW, `no escrow ${escrowId}`)
    return e
  }

  private async readTotals(tx: KvTransaction): Promise<Totals> {
    return (await getJson<Totals>(tx, this.k.totals)) ?? { minted: 0, settledOut: 0, settledIn: 0 }
  }

  private async nextMintSeq(tx: KvTransaction): Promise<number> {
    const n = ((await getJson<number>(tx, this.k.mintSeq)) ?? 0) + 1
    put(tx, this.k.mintSeq, n)
    return n
  }

  /** Apply `delta` to `account` (refusing to go negative) and append to its history. */
  private async change(
    tx: KvTransaction,
    account: string,
    delta: number,
    kind: HistoryKind,
    ref?: string,
    memo?: string,
  ): Promise<void> {
    const bal = (await getJson<number>(tx, this.k.bal(account))) ?? 0
    const next = bal + delta
    if (next < 0)
      throw new MarketError(
        MarketErrorCode.INSUFFICIENT_FUNDS,
        `${account} has ${bal} credits, needs ${-delta}`,
        { payload: { account, balance: bal, needed: -delta } },
      )
    if (!Number.isSafeInteger(next))
      throw new MarketError(MarketErrorCode.BAD_AMOUNT, `balance of ${account} overflows`)
    put(tx, this.k.bal(account), next)
    const seq = ((await getJson<number>(tx, this.k.histSeq(account))) ?? 0) + 1
    put(tx, this.k.histSeq(account), seq)
    const entry: HistoryEntry = { seq, at: this.clock.now(), kind, delta, balance: next, ref, memo }
    put(tx, this.k.hist(account, seq), entry)
  }
}

function closedStatus(e: EscrowRecord): EscrowResult['status'] {
  return e.status === 'released' ? 'already-released' : 'already-refunded'
}
