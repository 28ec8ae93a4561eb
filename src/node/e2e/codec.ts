/**
 * Codecs of the `/swarmd/e2e/1.0.0` messages (proto/e2e.proto). Decoders
 * throw `WireError('malformed')` on garbage, never a bare exception.
 */
import { decodeMessage, encodeMessage, protoType } from '../wire/codec.ts'
import { WireError } from '../wire/envelope.ts'

export const E2E_PROTOCOL = '/swarmd/e2e/1.0.0'
export const MSG = {
  DELIVER: 'e2e.deliver',
  RELAY: 'e2e.relay',
  DEPOSIT: 'e2e.deposit',
  DRAIN: 'e2e.drain',
  ACK: 'e2e.ack',
  DRAINED: 'e2e.drained',
} as const

export const ACK = {
  DELIVERED: 'delivered',
  STORED: 'stored',
  UNKNOWN_AGENT: 'unknown-agent',
  UNREACHABLE: 'unreachable',
  REJECTED: 'rejected',
} as const
export type AckStatus = (typeof ACK)[keyof typeof ACK]

export interface Ack {
  status: AckStatus
  reason: string
}
export interface Relay {
  envelope: Uint8Array
  target: string
  addresses: string[]
}
export interface Deposit {
  envelope: Uint8Array
  ttlMs: number
}
export interface Drain {
  agentId: string
  holder: string
  timestamp: number
  signature: Uint8Array
}

const t = (name: string) => protoType('e2e.proto', `swarmd.e2e.${name}`)
const bytes = (v: unknown): Uint8Array =>
  v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array()
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []

function decode(name: string, b: Uint8Array): Record<string, unknown> {
  try {
    return decodeMessage(t(name), b)
  } catch (err) {
    throw new WireError('malformed', `undecodable ${name} (${(err as Error).message})`, err)
  }
}

export const encodeDeliver = (envelope: Uint8Array) => encodeMessage(t('Deliver'), { envelope })
export const decodeDeliver = (b: Uint8Array): Uint8Array => bytes(decode('Deliver', b).envelope)

export const encodeRelay = (r: Relay) => encodeMessage(t('Relay'), { ...r })
export function decodeRelay(b: Uint8Array): Relay {
  const o = decode('Relay', b)
  return { envelope: bytes(o.envelope), target: String(o.target ?? ''), addresses: strings(o.addresses) }
}

export const encodeDeposit = (d: Deposit) =>
  encodeMessage(t('Deposit'), { envelope: d.envelope, ttl_ms: d.ttlMs })
export function decodeDeposit(b: Uint8Array): Deposit {
  const o = decode('Deposit', b)
  return { envelope: bytes(o.envelope), ttlMs: Number(o.ttl_ms ?? 0) }
}

export const encodeDrain = (d: Drain) =>
  encodeMessage(t('Drain'), {
    agent_id: d.agentId,
    holder: d.holder,
    timestamp: d.timestamp,
    signature: d.signature,
  })
export function decodeDrain(b: Uint8Array): Drain {
  const o = decode('Drain', b)
  return {
    agentId: String(o.agent_id ?? ''),
    holder: String(o.holder ?? ''),
    timestamp: Number(o.timestamp ?? 0),
    signature: bytes(o.signature),
  }
}

export const encodeDrained = (envelopes: Uint8Array[]) => encodeMessage(t('Drained'), { envelopes })
export function decodeDrained(b: Uint8Array): Uint8Array[] {
  const o = decode('Drained', b)
  return Array.isArray(o.envelopes) ? o.envelopes.map(bytes) : []
}

export const encodeAck = (a: Ack) => encodeMessage(t('Ack'), { ...a })
export function decodeAck(b: Uint8Array): Ack {
  const o = decode('Ack', b)
  const status = String(o.status ?? '')
  if (!(Object.values(ACK) as string[]).includes(status))
    throw new WireError('malformed', `unknown ack status ${JSON.stringify(status.slice(0, 40))}`)
  return { status: status as AckStatus, reason: String(o.reason ?? '') }
}
