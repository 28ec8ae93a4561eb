/**
 * The simulator's event queue: a binary min-heap over parallel typed arrays
 * (time, sequence number, kind, subject). Ties in time pop in insertion
 * order, so runs are reproducible. No objects are allocated per event.
 */
export class EventHeap {
  private time: Float64Array
  private seq: Float64Array
  private kind: Int32Array
  private subj: Int32Array
  private n = 0
  private counter = 0

  constructor(capacity = 1024) {
    this.time = new Float64Array(capacity)
    this.seq = new Float64Array(capacity)
    this.kind = new Int32Array(capacity)
    this.subj = new Int32Array(capacity)
  }

  get size(): number {
    return this.n
  }

  /** Time of the next event (Infinity when empty). */
  peekTime(): number {
    return this.n > 0 ? this.time[0]! : Number.POSITIVE_INFINITY
  }

  push(time: number, kind: number, subject: number): void {
    if (this.n === this.time.length) this.grow()
    const seq = this.counter++
    let i = this.n++
    const T = this.time
    const S = this.seq
    const K = this.kind
    const J = this.subj
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = T[p]!
      if (pt < time || (pt === time && S[p]! < seq)) break
      T[i] = pt
      S[i] = S[p]!
      K[i] = K[p]!
      J[i] = J[p]!
      i = p
    }
    T[i] = time
    S[i] = seq
    K[i] = kind
    J[i] = subject
  }

  /** Kind of the popped event; `lastTime`/`lastSubject` hold the rest. Call only when size > 0. */
  lastTime = 0
  lastSubject = 0
  pop(): number {
    const T = this.time
    const S = this.seq
    const K = this.kind
    const J = this.subj
    this.lastTime = T[0]!
    this.lastSubject = J[0]!
    const kind = K[0]!
    const n = --this.n
    if (n > 0) {
      const t = T[n]!
      const s = S[n]!
      const k = K[n]!
      const j = J[n]!
      let i = 0
      for (;;) {
        let c = 2 * i + 1
        if (c >= n) break
        const r = c + 1
        if (r < n && (T[r]! < T[c]! || (T[r] === T[c] && S[r]! < S[c]!))) c = r
        const ct = T[c]!
        if (ct > t || (ct === t && S[c]! > s)) break
        T[i] = ct
        S[i] = S[c]!
        K[i] = K[c]!
        J[i] = J[c]!
        i = c
      }
      T[i] = t
      S[i] = s
      K[i] = k
      J[i] = j
    }
    return kind
  }

  private grow(): void {
    const cap = this.time.length * 2
    const t = new Float64Array(cap)
    t.set(this.time)
    this.time = t
    const s = new Float64Array(cap)
    s.set(this.seq)
    this.seq = s
    const k = new Int32Array(cap)
    k.set(this.kind)
    this.kind = k
    const j = new Int32Array(cap)
    j.set(this.subj)
    this.subj = j
  }
}
