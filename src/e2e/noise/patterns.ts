/**
 * Handshake patterns, written in the notation of the Noise specification
 * (revision 34, sections 7.4 and 7.5) and parsed into token lists, plus the
 * `pskN` modifiers of section 9 and protocol-name parsing (section 8).
 */
import { E2E_ERRORS, E2eError } from '../errors.ts'

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk'

export interface MessagePattern {
  /** true: initiator -> responder. */
  fromInitiator: boolean
  tokens: Token[]
}

export interface HandshakePattern {
  name: string
  /** Pre-message tokens of the initiator ("-> s") and of the responder ("<- s"). */
  preInitiator: Token[]
  preResponder: Token[]
  messages: MessagePattern[]
  oneWay: boolean
}

/** The 15 fundamental patterns, verbatim from the specification (one line per message; "..." ends pre-messages). */
const SPEC_PATTERNS: Record<string, string> = {
  N: '<- s | ... | -> e, es',
  K: '-> s | <- s | ... | -> e, es, ss',
  X: '<- s | ... | -> e, es, s, ss',
  NN: '-> e | <- e, ee',
  NK: '<- s | ... | -> e, es | <- e, ee',
  NX: '-> e | <- e, ee, s, es',
  XN: '-> e | <- e, ee | -> s, se',
  XK: '<- s | ... | -> e, es | <- e, ee | -> s, se',
  XX: '-> e | <- e, ee, s, es | -> s, se',
  KN: '-> s | ... | -> e | <- e, ee, se',
  KK: '-> s | <- s | ... | -> e, es, ss | <- e, ee, se',
  KX: '-> s | ... | -> e | <- e, ee, se, s, es',
  IN: '-> e, s | <- e, ee, se',
  IK: '<- s | ... | -> e, es, s, ss | <- e, ee, se',
  IX: '-> e, s | <- e, ee, se, s, es',
}

const TOKENS = new Set<string>(['e', 's', 'ee', 'es', 'se', 'ss', 'psk'])

function parseLine(line: string): MessagePattern {
  const m = /^(->|<-)\s*(.*)$/.exec(line.trim())
  if (!m) throw new Error(`bad pattern line: ${line}`)
  const tokens = (m[2] ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
  for (const t of tokens) if (!TOKENS.has(t)) throw new Error(`bad token ${t}`)
  return { fromInitiator: m[1] === '->', tokens: tokens as Token[] }
}

/** Parse the spec notation used in SPEC_PATTERNS. */
export function parsePattern(name: string, notation: string): HandshakePattern {
  const lines = notation.split('|').map((l) => l.trim())
  const dots = lines.indexOf('...')
  const pre = dots >= 0 ? lines.slice(0, dots).map(parseLine) : []
  const msgs = (dots >= 0 ? lines.slice(dots + 1) : lines).map(parseLine)
  return {
    name,
    preInitiator: pre.filter((p) => p.fromInitiator).flatMap((p) => p.tokens),
    preResponder: pre.filter((p) => !p.fromInitiator).flatMap((p) => p.tokens),
    messages: msgs,
    oneWay: msgs.length === 1 && name.length === 1,
  }
}

const BASE = new Map(Object.entries(SPEC_PATTERNS).map(([n, s]) => [n, parsePattern(n, s)]))

export const FUNDAMENTAL_PATTERNS: readonly string[] = Object.keys(SPEC_PATTERNS)

/**
 * A pattern name with optional modifiers, e.g. "XXpsk3" or "NNpsk0+psk2".
 * psk0 puts a "psk" token at the start of the first message, pskN (N >= 1) at
 * the end of message N.
 */
export function resolvePattern(fullName: string): HandshakePattern {
  const m = /^([NKXI]{1,2})((?:psk\d+)(?:\+psk\d+)*)?$/.exec(fullName)
  const base = m ? BASE.get(m[1] ?? '') : undefined
  if (!m || !base) throw new E2eError(E2E_ERRORS.UNSUPPORTED, `unsupported handshake pattern ${fullName}`)
  const messages = base.messages.map((mp) => ({ fromInitiator: mp.fromInitiator, tokens: [...mp.tokens] }))
  const mods = m[2] ? m[2].split('+') : []
  for (const mod of mods) {
    const n = Number(mod.slice(3))
    if (n === 0) messages[0]?.tokens.unshift('psk')
    else {
      const target = messages[n - 1]
      if (!target) throw new E2eError(E2E_ERRORS.UNSUPPORTED, `modifier ${mod} beyond the pattern's messages`)
      target.tokens.push('psk')
    }
  }
  return { ...base, name: fullName, messages }
}

export interface ProtocolName {
  full: string
  pattern: HandshakePattern
  dh: '25519'
  cipher: 'ChaChaPoly'
  hash: string
  pskCount: number
}

export function parseProtocolName(full: string): ProtocolName {
  const parts = full.split('_')
  if (parts.length !== 5 || parts[0] !== 'Noise') {
    throw new E2eError(E2E_ERRORS.UNSUPPORTED, `not a Noise protocol name: ${full}`)
  }
  const [, pat, dhName, cipher, hash] = parts as [string, string, string, string, string]
  if (dhName !== '25519') throw new E2eError(E2E_ERRORS.UNSUPPORTED, `unsupported DH ${dhName}`)
  if (cipher !== 'ChaChaPoly') throw new E2eError(E2E_ERRORS.UNSUPPORTED, `unsupported cipher ${cipher}`)
  if (!['SHA256', 'SHA512', 'BLAKE2s', 'BLAKE2b'].includes(hash)) {
    throw new E2eError(E2E_ERRORS.UNSUPPORTED, `unsupported hash ${hash}`)
  }
  const pattern = resolvePattern(pat)
  const pskCount = pattern.messages.reduce((n, mp) => n + mp.tokens.filter((t) => t === 'psk').length, 0)
  return { full, pattern, dh: '25519', cipher: 'ChaChaPoly', hash, pskCount }
}
