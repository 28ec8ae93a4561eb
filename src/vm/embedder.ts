/**
 * The default text embedder: deterministic and local. Character 3-grams and
 * words are hashed (FNV-1a) into a fixed number of signed buckets, then the
 * vector is L2-normalised. Similar texts share n-grams, so cosine similarity
 * is meaningful for retrieval; no model download, same output everywhere.
 */
export const EMBED_DIM = 256

function fnv(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

export function embedText(text: string, dim = EMBED_DIM): number[] {
  const v = new Float64Array(dim)
  const norm = text.toLowerCase().normalize('NFKC')
  const words = norm.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0)
  const add = (feat: string, weight: number) => {
    const h = fnv(feat, 0)
    const sign = fnv(feat, 0x9e37) & 1 ? 1 : -1
    v[h % dim] = (v[h % dim] as number) + sign * weight
  }
  for (const w of words) {
    add(`w:${w}`, 2)
    const padded = ` ${w} `
    for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 1)
  }
  for (let i = 0; i + 1 < words.length; i++) add(`b:${words[i]} ${words[i + 1]}`, 1)
  let n = 0
  for (const x of v) n += x * x
  n = Math.sqrt(n)
  return Array.from(v, (x) => (n > 0 ? Math.round((x / n) * 1e6) / 1e6 : 0))
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0
  let na = 0
  let nb = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] as number
    const y = b[i] as number
    dot += x * y
    na += x * x
    nb += y * y
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
}

export interface Scored {
  id: string
  text: string
  score: number
  vec: number[]
}

/** Top-k by cosine; with `mmr`, Maximal Marginal Relevance (λ = 0.5) for diversity. */
export function searchTopK(
  query: number[],
  docs: { id: string; text: string; vec: number[] }[],
  k: number,
  mmr: boolean,
): Scored[] {
  const scored = docs.map((d) => ({ ...d, score: cosine(query, d.vec) }))
  scored.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
  if (!mmr) return scored.slice(0, k)
  const picked: Scored[] = []
  const pool = scored.slice(0, Math.max(k * 4, 20))
  while (picked.length < k && pool.length > 0) {
    let best = 0
    let bestVal = Number.NEGATIVE_INFINITY
    for (let i = 0; i < pool.length; i++) {
      const c = pool[i] as Scored
      const red = picked.length === 0 ? 0 : Math.max(...picked.map((p) => cosine(p.vec, c.vec)))
      const val = 0.5 * c.score - 0.5 * red
      if (val > bestVal) {
        bestVal = val
        best = i
      }
    }
    picked.push(pool.splice(best, 1)[0] as Scored)
  }
  return picked
}
