/**
 * The payloads of `/swarmd/route/1.0.0` (proto/route.proto) as TypeScript
 * objects, with encode/decode through the project's protobufjs loader. Every
 * decode is defensive: bad bytes or wrong shapes become `WireError('malformed')`.
 */
import { sign, verify } from '../../common/index.ts'
import { decodeMessage, encodeMessage, protoType } from '../wire/codec.ts'
import { WireError } from '../wire/envelope.ts'

export const ROUTE_PROTOCOL = '/swarmd/route/1.0.0'
export const ROUTE_TYPES = {
  CFP: 'route.cfp',
  ESTIMATE: 'route.estimate',
  ACK: 'route.ack',
  QUERY: 'route.query',
} as const
export const ORIGIN_DOMAIN = 'swarmd/route-cfp/v1'
/** Largest route message accepted (the opaque payload included). */
export const MAX_ROUTE_MESSAGE_BYTES = 256 * 1024
export const MAX_PATH = 255

export interface Candidate {
  neighbour: string
  q: number
  confidence: number
  visits: number
}

export interface Hop {
  peer: string
  at: number
  reason: string
  next: string
  estimate: number
  confidence: number
  candidates: Candidate[]
  note: string
  /** Neighbours asked for their estimate before deciding. */
  queries: number
}

export interface RouteCfp {
  cfpId: string
  capability: string
  origin: string
  originAddrs: string[]
  createdAt: number
  payload: Uint8Array
  originSig: Uint8Array
  ttl: number
  path: string[]
  hopTimes: number[]
  hops: Hop[]
  mode: 'cq' | 'flood'
}

export interface RouteQuery {
  capability: string
  path: string[]
}

export interface RouteEstimate {
  accepted: boolean
  value: number
  confidence: number
  reason: string
}

export interface RouteAck {
  cfpId: string
  capability: string
  delivered: boolean
  by: string
  path: string[]
  hopTimes: number[]
  hops: Hop[]
  at: number
  error: string
  mode: 'cq' | 'flood'
  dhtLookups: number
}

const T = {
  cfp: () => protoType('route.proto', 'swarmd.route.RouteCfp'),
  estimate: () => protoType('route.proto', 'swarmd.route.RouteEstimate'),
  ack: () => protoType('route.proto', 'swarmd.route.RouteAck'),
  query: () => protoType('route.proto', 'swarmd.route.RouteQuery'),
}

/** What the origin signs: everything a relay must not change. */
export function originBody(c: Pick<RouteCfp, 'cfpId' | 'capability' | 'origin' | 'createdAt' | 'payload'>) {
  return {
    cfpId: c.cfpId,
    capability: c.capability,
    origin: c.origin,
    createdAt: c.createdAt,
    payload: c.payload,
  }
}

export function signOrigin(c: Parameters<typeof originBody>[0], secretKey: Uint8Array): Uint8Array {
  return sign(ORIGIN_DOMAIN, originBody(c), secretKey)
}

export function verifyOrigin(c: RouteCfp, publicKey: Uint8Array): boolean {
  try {
    return verify(ORIGIN_DOMAIN, originBody(c), c.originSig, publicKey)
  } catch {
    return false
  }
}

const hopToWire = (h: Hop) => ({ ...h })

export function encodeCfp(c: RouteCfp): Uint8Array {
  return encodeMessage(T.cfp(), {
    cfp_id: c.cfpId,
    capability: c.capability,
    origin: c.origin,
    origin_addrs: c.originAddrs,
    created_at: c.createdAt,
    payload: c.payload,
    origin_sig: c.originSig,
    ttl: c.ttl,
    path: c.path,
    hop_times: c.hopTimes,
    hops: c.hops.map(hopToWire),
    mode: c.mode,
  })
}

export function encodeQuery(q: RouteQuery): Uint8Array {
  return encodeMessage(T.query(), { capability: q.capability, path: q.path })
}

export function decodeQuery(b: Uint8Array): RouteQuery {
  const r = decode(T.query(), b, 'route.query')
  return { capability: str(r.capability), path: strs(r.path) }
}

export function encodeEstimate(e: RouteEstimate): Uint8Array {
  return encodeMessage(T.estimate(), { ...e })
}

export function encodeAck(a: RouteAck): Uint8Array {
  return encodeMessage(T.ack(), {
    cfp_id: a.cfpId,
    capability: a.capability,
    delivered: a.delivered,
    by: a.by,
    path: a.path,
    hop_times: a.hopTimes,
    hops: a.hops.map(hopToWire),
    at: a.at,
    error: a.error,
    mode: a.mode,
    dht_lookups: a.dhtLookups,
  })
}

function decode(type: ReturnType<typeof T.cfp>, bytes: Uint8Array, what: string): Record<string, unknown> {
  if (bytes.length > MAX_ROUTE_MESSAGE_BYTES)
    throw new WireError('oversized', `${what} of ${bytes.length} bytes > ${MAX_ROUTE_MESSAGE_BYTES}`)
  try {
    return decodeMessage(type, bytes)
  } catch (err) {
    throw new WireError('malformed', `undecodable ${what} (${(err as Error).message})`, err)
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const bytes = (v: unknown): Uint8Array =>
  v instanceof Uint8Array ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array()
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : [])
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.map(num) : [])
const mode = (v: unknown): 'cq' | 'flood' => (v === 'flood' ? 'flood' : 'cq')

function hops(v: unknown): Hop[] {
  if (!Array.isArray(v)) return []
  return v.map((h: Record<string, unknown>) => ({
    peer: str(h.peer),
    at: num(h.at),
    reason: str(h.reason),
    next: str(h.next),
    estimate: num(h.estimate),
    confidence: num(h.confidence),
    candidates: Array.isArray(h.candidates)
      ? h.candidates.map((c: Record<string, unknown>) => ({
          neighbour: str(c.neighbour),
          q: num(c.q),
          confidence: num(c.confidence),
          visits: num(c.visits),
        }))
      : [],
    note: str(h.note),
    queries: num(h.queries),
  }))
}

export function decodeCfp(b: Uint8Array): RouteCfp {
  const r = decode(T.cfp(), b, 'route.cfp')
  return {
    cfpId: str(r.cfp_id),
    capability: str(r.capability),
    origin: str(r.origin),
    originAddrs: strs(r.origin_addrs),
    createdAt: num(r.created_at),
    payload: bytes(r.payload),
    originSig: bytes(r.origin_sig),
    ttl: num(r.ttl),
    path: strs(r.path),
    hopTimes: nums(r.hop_times),
    hops: hops(r.hops),
    mode: mode(r.mode),
  }
}

export function decodeEstimate(b: Uint8Array): RouteEstimate {
  const r = decode(T.estimate(), b, 'route.estimate')
  return {
    accepted: r.accepted === true,
    value: num(r.value),
    confidence: Math.min(1, Math.max(0, num(r.confidence))),
    reason: str(r.reason),
  }
}

export function decodeAck(b: Uint8Array): RouteAck {
  const r = decode(T.ack(), b, 'route.ack')
  return {
    cfpId: str(r.cfp_id),
    capability: str(r.capability),
    delivered: r.delivered === true,
    by: str(r.by),
    path: strs(r.path),
    hopTimes: nums(r.hop_times),
    hops: hops(r.hops),
    at: num(r.at),
    error: str(r.error),
    mode: mode(r.mode),
    dhtLookups: num(r.dht_lookups),
  }
}
