/** Storage: per-agent KV, documents with embeddings, search, transactions. */
import { KvTransaction } from '../../common/index.ts'
import { searchTopK } from '../embedder.ts'
import { asNumber, invalid, VmFault } from '../fault.ts'
import { must } from '../gate.ts'
import type { Machine } from '../interp.ts'
import { isMap, sizeOf, toText, truthy, type Value } from '../values.ts'
import { callPlugin, pluginGas } from './plugins.ts'
import { arg, argOr, CONTINUE, type Ins, type OpSpec, valueParam } from './types.ts'
import { agentPrefix, keyText, put, storeGet, storeList, storePut } from './util.ts'

const p = valueParam
const kvKey = (m: Machine, k: Value) => `${agentPrefix(m)}kv/${keyText(k, 'key')}`
const collPrefix = (m: Machine, c: Value) => `${agentPrefix(m)}doc/${keyText(c, 'collection')}/`
const DEFAULT_EMBEDDER = 'local-embed'

function vector(v: Value, what: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 8192 || !v.every((x) => typeof x === 'number')) {
    throw invalid(`${what} must be a non-empty list of numbers`)
  }
  return v as number[]
}

async function embed(m: Machine, ins: Ins, text: Value, model: string): Promise<number[] | null> {
  const r = await callPlugin(m, ins.name, model, 'embed', [toText(text)])
  if (m.pluginFailed) return null
  return vector(r, `embedder '${model}' result`)
}

async function storeDoc(m: Machine, coll: Value, id: Value, text: Value, vec: number[]): Promise<void> {
  await storePut(m, `${collPrefix(m, coll)}${keyText(id, 'doc id')}`, { text: toText(text), vec })
}

export const storageOps: OpSpec[] = [
  {
    name: 'KV_STORE',
    params: [p('key'), p('value')],
    result: true,
    gas: 3,
    dynGas: (m, ins) => sizeOf(arg(m, ins, 1)) >>> 7,
    gasDoc: '3 + bytes/128',
    async: true,
    doc: "Store a value under `key` in the agent's KV (staged when inside TX_BEGIN).",
    run: async (m, ins) => {
      await storePut(m, kvKey(m, arg(m, ins, 0)), arg(m, ins, 1))
      return put(m, ins, true)
    },
  },
  {
    name: 'KV_FETCH',
    params: [p('key'), p('default', true)],
    result: true,
    gas: 2,
    gasDoc: '2, then 1 per 256 bytes fetched',
    async: true,
    doc: 'Fetch a value (null, or `default`, when absent).',
    run: async (m, ins) => {
      const v = await storeGet(m, kvKey(m, arg(m, ins, 0)))
      m.useGas(sizeOf(v) / 256)
      return put(m, ins, v === null ? argOr(m, ins, 1, null) : v)
    },
  },
  {
    name: 'KV_DELETE',
    params: [p('key')],
    result: true,
    gas: 2,
    async: true,
    doc: 'Delete a key.',
    run: async (m, ins) => {
      await storePut(m, kvKey(m, arg(m, ins, 0)), undefined)
      return put(m, ins, true)
    },
  },
  {
    name: 'CALC_EMBED',
    params: [p('text'), p('model', true, 'string')],
    result: true,
    gas: 1,
    pluginParam: 'model',
    dynGas: (m, ins) =>
      pluginGas(m, ins.given[1] ? toText(arg(m, ins, 1)) : DEFAULT_EMBEDDER, sizeOf(arg(m, ins, 0))),
    gasDoc: '1 + embedder plugin gas (local-embed: 2 + 2/KiB)',
    async: true,
    doc: 'Embed text with an embedder plugin (default `local-embed`) → vector.',
    run: async (m, ins) => {
      const model = ins.given[1] ? toText(arg(m, ins, 1)) : DEFAULT_EMBEDDER
      return put(m, ins, await embed(m, ins, arg(m, ins, 0), model))
    },
  },
  {
    name: 'DOC_STORE',
    params: [p('collection'), p('id'), p('text'), p('vector', false, 'list')],
    result: true,
    gas: 5,
    dynGas: (m, ins) => (sizeOf(arg(m, ins, 2)) + sizeOf(arg(m, ins, 3))) >>> 8,
    gasDoc: '5 + bytes/256',
    async: true,
    doc: 'Store a document (text + embedding) in a collection.',
    run: async (m, ins) => {
      await storeDoc(
        m,
        arg(m, ins, 0),
        arg(m, ins, 1),
        arg(m, ins, 2),
        vector(arg(m, ins, 3), 'DOC_STORE vector'),
      )
      return put(m, ins, true)
    },
  },
  {
    name: 'DOC_EMBED',
    params: [p('collection'), p('id'), p('text'), p('model', true, 'string')],
    result: true,
    gas: 6,
    pluginParam: 'model',
    dynGas: (m, ins) =>
      pluginGas(m, ins.given[3] ? toText(arg(m, ins, 3)) : DEFAULT_EMBEDDER, sizeOf(arg(m, ins, 2))) +
      (sizeOf(arg(m, ins, 2)) >>> 8),
    gasDoc: '6 + embedder gas + bytes/256',
    async: true,
    doc: 'CALC_EMBED + DOC_STORE in one step.',
    run: async (m, ins) => {
      const vec = await embed(
        m,
        ins,
        arg(m, ins, 2),
        ins.given[3] ? toText(arg(m, ins, 3)) : DEFAULT_EMBEDDER,
      )
      if (!vec) return put(m, ins, false)
      await storeDoc(m, arg(m, ins, 0), arg(m, ins, 1), arg(m, ins, 2), vec)
      return put(m, ins, true)
    },
  },
  {
    name: 'DOC_FETCH',
    params: [p('collection'), p('id')],
    result: true,
    gas: 3,
    async: true,
    doc: 'Fetch `{id, text, vector}` (null when absent).',
    run: async (m, ins) => {
      const id = keyText(arg(m, ins, 1), 'doc id')
      const d = await storeGet(m, `${collPrefix(m, arg(m, ins, 0))}${id}`)
      return put(m, ins, isMap(d) ? { id, text: d.text ?? null, vector: d.vec ?? null } : null)
    },
  },
  {
    name: 'DOC_SEARCH',
    params: [p('collection'), p('query', false, 'list'), p('k', true, 'number'), p('mmr', true, 'boolean')],
    result: true,
    gas: 10,
    gasDoc: '10, then 1 per 16 documents compared',
    async: true,
    doc: 'Cosine top-k (default 3) over a collection → list of `{id, text, score}`; `MMR=true` diversifies.',
    run: async (m, ins) => {
      const q = vector(arg(m, ins, 1), 'DOC_SEARCH query')
      const k = Math.max(1, Math.min(100, asNumber(argOr(m, ins, 2, 3), 'top-k')))
      const docs = (await storeList(m, collPrefix(m, arg(m, ins, 0))))
        .filter(([, d]) => isMap(d) && Array.isArray(d.vec))
        .map(([id, d]) => ({
          id,
          text: toText((d as { text: Value }).text),
          vec: (d as { vec: number[] }).vec,
        }))
      m.useGas(docs.length / 16)
      const hits = searchTopK(q, docs, k, truthy(argOr(m, ins, 3, false)))
      return put(
        m,
        ins,
        hits.map((h) => ({ id: h.id, text: h.text, score: Math.round(h.score * 1e6) / 1e6 })),
      )
    },
  },
  {
    name: 'DELETE_DOC',
    params: [p('collection'), p('id')],
    result: true,
    gas: 2,
    async: true,
    doc: 'Remove a document.',
    run: async (m, ins) => {
      await storePut(m, `${collPrefix(m, arg(m, ins, 0))}${keyText(arg(m, ins, 1), 'doc id')}`, undefined)
      return put(m, ins, true)
    },
  },
  {
    name: 'DELETE_COLLECTION',
    params: [p('collection')],
    result: true,
    gas: 5,
    gasDoc: '5, then 1 per 16 documents deleted',
    async: true,
    doc: 'Remove every document of a collection; returns how many.',
    run: async (m, ins) => {
      const prefix = collPrefix(m, arg(m, ins, 0))
      const docs = await storeList(m, prefix)
      m.useGas(docs.length / 16)
      for (const [id] of docs) await storePut(m, prefix + id, undefined)
      return put(m, ins, docs.length)
    },
  },
  {
    name: 'TX_BEGIN',
    params: [],
    result: false,
    gas: 2,
    doc: 'Start a transaction: storage writes and payments are staged until TX_COMMIT (atomic) or TX_ABORT.',
    run: (m) => {
      if (m.tx) throw new VmFault('INVALID_OPERAND', 'TX_BEGIN inside an open transaction')
      m.tx = new KvTransaction(m.host.store)
      return CONTINUE
    },
  },
  {
    name: 'TX_COMMIT',
    params: [],
    result: true,
    gas: 5,
    gasDoc: '5 + 1 per staged write',
    dynGas: (m) => m.tx?.size ?? 0,
    async: true,
    doc: 'Apply every staged write in one atomic batch; returns true.',
    run: async (m, ins) => {
      const tx = m.tx
      if (!tx) throw new VmFault('INVALID_OPERAND', 'TX_COMMIT without TX_BEGIN')
      m.tx = null
      m.set(ins.dst, true)
      must(
        await m.gate.call('tx.commit', [tx.size], async () => {
          m.host.onCommit?.(tx)
          await tx.commit()
          return true
        }),
        'TX_COMMIT',
      )
      return CONTINUE
    },
  },
  {
    name: 'TX_ABORT',
    params: [],
    result: false,
    gas: 2,
    doc: 'Discard every staged write.',
    run: (m) => {
      if (!m.tx) throw new VmFault('INVALID_OPERAND', 'TX_ABORT without TX_BEGIN')
      m.tx.abort()
      m.tx = null
      return CONTINUE
    },
  },
]
