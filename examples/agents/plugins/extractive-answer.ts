/**
 * A small extractive question-answering "model" plugin: given the question
 * followed by retrieved documents (the RAG bot passes `question + R_docs`),
 * it answers with the document sentence sharing the most words with the
 * question. Deterministic and local; stands in the place a GPU model would.
 */
type Doc = { text?: string }

function words(s: string): Set<string> {
  return new Set(s.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 2))
}

export default function extractiveAnswer() {
  return {
    name: 'LLama',
    kind: 'model',
    gas: { base: 20, perKb: 2 },
    call(req: { args: unknown[] }) {
      const input = String(req.args[0] ?? '')
      const cut = input.indexOf('[')
      const question = cut >= 0 ? input.slice(0, cut) : input
      let docs: Doc[] = []
      try {
        docs = cut >= 0 ? (JSON.parse(input.slice(cut)) as Doc[]) : []
      } catch {
        docs = []
      }
      const q = words(question)
      let best = ''
      let bestScore = -1
      for (const d of docs) {
        for (const s of String(d.text ?? '').split(/(?<=[.!?])\s+/)) {
          let score = 0
          for (const w of words(s)) if (q.has(w)) score++
          if (score > bestScore) {
            best = s
            bestScore = score
          }
        }
      }
      return best || 'I do not know.'
    },
  }
}
