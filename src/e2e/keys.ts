/**
 * Agent keys: per agent an Ed25519 signing key (its identity: the agent id is
 * the hex of the public key) and an X25519 static key for Noise.
 *
 * At rest: both secrets (64 bytes) are sealed with XChaCha20-Poly1305 under a
 * key derived from the node's 32-byte repository secret:
 * `k = HKDF-SHA256(ikm = repoSecret, salt = 16 random bytes, info = "swarmd/e2e/agent-keys/v1")`,
 * a fresh 24-byte nonce per record, and the agent id as associated data (a
 * record cannot be swapped onto another agent). A wrong repository secret or a
 * corrupted record is `E2E_KEYS_LOCKED`. The repository secret is random, so
 * HKDF is enough; a passphrase would need a slow KDF such as scrypt instead.
 *
 * Agent card: the agent signs (domain `swarmd/agent-card/v1`) a body with its
 * id, its Noise static key and its capabilities; anyone verifies it from the
 * agent id alone. `cardMatchesKey` binds a card to a Noise handshake static key.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import type { Ed25519KeyPair, KvStore } from '../common/index.ts'
import {
  fromB64,
  fromHex,
  generateSigningKey,
  sign,
  signingKeyFromSeed,
  toB64,
  toHex,
  verify,
} from '../common/index.ts'
import { E2E_ERRORS, E2eError } from './errors.ts'
import type { KeyPair } from './noise/primitives.ts'
import { equalBytes, generateKeyPair, keyPairFromSecret } from './noise/primitives.ts'

export const AGENT_CARD_DOMAIN = 'swarmd/agent-card/v1'
const KEYS_INFO = new TextEncoder().encode('swarmd/e2e/agent-keys/v1')

export interface AgentKeys {
  /** Lowercase hex of the Ed25519 public key. */
  agentId: string
  signing: Ed25519KeyPair
  noise: KeyPair
}

export function generateAgentKeys(): AgentKeys {
  const signing = generateSigningKey()
  return { agentId: toHex(signing.publicKey), signing, noise: generateKeyPair() }
}

/** Deterministic keys from a 32-byte seed (tests, simulations). */
export function agentKeysFromSeed(seed: Uint8Array): AgentKeys {
  const signing = signingKeyFromSeed(sha256(Uint8Array.of(...seed, 1)))
  return {
    agentId: toHex(signing.publicKey),
    signing,
    noise: keyPairFromSecret(sha256(Uint8Array.of(...seed, 2))),
  }
}

interface SealedKeyRecord {
  v: 1
  salt: string
  nonce: string
  ct: string
}

function wrapKey(repoSecret: Uint8Array, salt: Uint8Array): Uint8Array {
  if (repoSecret.length < 32)
    throw new E2eError(E2E_ERRORS.KEYS_LOCKED, 'repository secret must have at least 32 bytes')
  return hkdf(sha256, repoSecret, salt, KEYS_INFO, 32)
}

/** Agent keys stored in a KvStore, sealed under the repository secret. */
export class AgentKeyStore {
  private readonly kv: KvStore
  private readonly repoSecret: Uint8Array

  constructor(kv: KvStore, repoSecret: Uint8Array) {
    this.kv = kv
    this.repoSecret = repoSecret
  }

  async save(keys: AgentKeys): Promise<void> {
    const salt = randomBytes(16)
    const nonce = randomBytes(24)
    const secrets = new Uint8Array(64)
    secrets.set(keys.signing.secretKey, 0)
    secrets.set(keys.noise.secretKey, 32)
    const ad = new TextEncoder().encode(keys.agentId)
    const ct = xchacha20poly1305(wrapKey(this.repoSecret, salt), nonce, ad).encrypt(secrets)
    secrets.fill(0)
    const rec: SealedKeyRecord = { v: 1, salt: toB64(salt), nonce: toB64(nonce), ct: toB64(ct) }
    await this.kv.put(keys.agentId, new TextEncoder().encode(JSON.stringify(rec)))
  }

  async load(agentId: string): Promise<AgentKeys | undefined> {
    const raw = await this.kv.get(agentId)
    if (raw === undefined) return undefined
    let secrets: Uint8Array
    try {
      const rec = JSON.parse(new TextDecoder().decode(raw)) as SealedKeyRecord
      if (rec.v !== 1) throw new Error(`unknown key record version ${String(rec.v)}`)
      const ad = new TextEncoder().encode(agentId)
      secrets = xchacha20poly1305(
        wrapKey(this.repoSecret, fromB64(rec.salt)),
        fromB64(rec.nonce),
        ad,
      ).decrypt(fromB64(rec.ct))
    } catch (cause) {
      throw new E2eError(
        E2E_ERRORS.KEYS_LOCKED,
        `cannot unseal the keys of agent ${agentId}: wrong repository secret or corrupted record`,
        {
          cause,
          action: 'ignore',
        },
      )
    }
    const signing = signingKeyFromSeed(secrets.slice(0, 32))
    if (toHex(signing.publicKey) !== agentId)
      throw new E2eError(E2E_ERRORS.KEYS_LOCKED, 'stored key does not match the agent id')
    return { agentId, signing, noise: keyPairFromSecret(secrets.slice(32, 64)) }
  }

  /** The agent's keys, generated and saved on first use. */
  async loadOrCreate(agentId?: string): Promise<AgentKeys> {
    if (agentId !== undefined) {
      const k = await this.load(agentId)
      if (k) return k
    }
    const keys = generateAgentKeys()
    await this.save(keys)
    return keys
  }

  async list(): Promise<string[]> {
    const ids: string[] = []
    for await (const [k] of this.kv.entries('')) ids.push(k)
    return ids
  }
}

/**
 * The one agent card format of swarmd: what the handshake payload carries and
 * checks, and what the node stores in the DHT under `/swarmd-card/<agentId>`
 * (the node's DHT validator additionally requires `node`, `addresses`, `seq`
 * and `expiresAt`, see src/node/agent-card.ts).
 */
export interface AgentCardBody {
  v: 1
  /** Lowercase hex of the agent's 32-byte Ed25519 public key. */
  agentId: string
  /** Hex Ed25519 key that signs the card; when present it must equal `agentId`. */
  signingKey?: string
  /** Hex of the agent's X25519 Noise static public key. */
  noiseKey: string
  caps: string[]
  /** Indicative prices by capability, in credits (integers). */
  priceHints?: Record<string, number>
  /** The libp2p peer id of the hosting node, when known. */
  node?: string
  /** Multiaddrs of the hosting node. */
  addresses?: string[]
  /** Monotonic sequence number; the highest published card wins. */
  seq?: number
  /** Milliseconds since the epoch (from the injected clock). */
  issuedAt: number
  /** Milliseconds since the epoch after which the card is no longer valid. */
  expiresAt?: number
  /** The agent accepts the hybrid ML-KEM-768 handshake. */
  pq?: boolean
}

export interface AgentCard {
  body: AgentCardBody
  /** Hex Ed25519 signature by the agent over `swarmd/agent-card/v1 \0 canonicalJson(body)`. */
  sig: string
}

export interface AgentCardOptions {
  issuedAt: number
  node?: string
  pq?: boolean
  addresses?: string[]
  seq?: number
  expiresAt?: number
  priceHints?: Record<string, number>
}

export function agentCardBody(keys: AgentKeys, caps: string[], opts: AgentCardOptions): AgentCardBody {
  return {
    v: 1,
    agentId: keys.agentId,
    signingKey: keys.agentId,
    noiseKey: toHex(keys.noise.publicKey),
    caps: [...caps],
    issuedAt: opts.issuedAt,
    ...(opts.node === undefined ? {} : { node: opts.node }),
    ...(opts.pq === undefined ? {} : { pq: opts.pq }),
    ...(opts.addresses === undefined ? {} : { addresses: [...opts.addresses] }),
    ...(opts.seq === undefined ? {} : { seq: opts.seq }),
    ...(opts.expiresAt === undefined ? {} : { expiresAt: opts.expiresAt }),
    ...(opts.priceHints === undefined ? {} : { priceHints: { ...opts.priceHints } }),
  }
}

export function signAgentCard(keys: AgentKeys, body: AgentCardBody): AgentCard {
  if (body.agentId !== keys.agentId)
    throw new E2eError(E2E_ERRORS.CARD_MISMATCH, 'card body is for another agent')
  return { body, sig: toHex(sign(AGENT_CARD_DOMAIN, body, keys.signing.secretKey)) }
}

const isStringList = (x: unknown): boolean => Array.isArray(x) && x.every((s) => typeof s === 'string')
const isOptInt = (x: unknown): boolean => x === undefined || (Number.isSafeInteger(x) && (x as number) >= 0)

/** Shape checks of the optional fields (a card is refused if one is present but malformed). */
function wellFormedBody(b: AgentCardBody): boolean {
  if (b.v !== 1 || !isStringList(b.caps) || !Number.isSafeInteger(b.issuedAt)) return false
  if (b.signingKey !== undefined && b.signingKey !== b.agentId) return false
  if (b.node !== undefined && typeof b.node !== 'string') return false
  if (b.addresses !== undefined && !isStringList(b.addresses)) return false
  if (!isOptInt(b.seq) || !isOptInt(b.expiresAt)) return false
  if (b.pq !== undefined && typeof b.pq !== 'boolean') return false
  const ph = b.priceHints
  if (ph !== undefined) {
    if (typeof ph !== 'object' || ph === null || Array.isArray(ph)) return false
    if (!Object.values(ph).every((x) => Number.isSafeInteger(x))) return false
  }
  return true
}

/** True when the card is well formed and signed by the agent its id names. */
export function verifyAgentCard(card: unknown): card is AgentCard {
  if (typeof card !== 'object' || card === null) return false
  const c = card as Partial<AgentCard>
  const b = c.body
  if (
    !b ||
    typeof b !== 'object' ||
    typeof c.sig !== 'string' ||
    typeof b.agentId !== 'string' ||
    typeof b.noiseKey !== 'string'
  )
    return false
  if (
    !/^[0-9a-f]{64}$/.test(b.agentId) ||
    !/^[0-9a-f]{64}$/.test(b.noiseKey) ||
    !/^[0-9a-f]{128}$/.test(c.sig)
  ) {
    return false
  }
  if (!wellFormedBody(b)) return false
  return verify(AGENT_CARD_DOMAIN, b, fromHex(c.sig), fromHex(b.agentId))
}

/** True when the card names `noiseStatic` as the agent's Noise key. */
export function cardMatchesKey(card: AgentCard, noiseStatic: Uint8Array): boolean {
  return equalBytes(fromHex(card.body.noiseKey), noiseStatic)
}

/**
 * Checks a card received inside a handshake: signed by its agent, matching the
 * handshake static key, and (when given) naming the expected agent. Throws
 * `E2E_CARD_MISMATCH` with the reason.
 */
export function checkHandshakeCard(
  card: unknown,
  noiseStatic: Uint8Array | undefined,
  expectedAgent?: string,
): AgentCard {
  if (!verifyAgentCard(card))
    throw new E2eError(E2E_ERRORS.CARD_MISMATCH, 'agent card missing or badly signed', { action: 'penalise' })
  if (!noiseStatic || !cardMatchesKey(card, noiseStatic)) {
    throw new E2eError(E2E_ERRORS.CARD_MISMATCH, 'agent card does not match the handshake static key', {
      action: 'penalise',
    })
  }
  if (expectedAgent !== undefined && card.body.agentId !== expectedAgent) {
    throw new E2eError(
      E2E_ERRORS.CARD_MISMATCH,
      `handshake is from agent ${card.body.agentId}, expected ${expectedAgent}`,
      {
        action: 'penalise',
      },
    )
  }
  return card
}
