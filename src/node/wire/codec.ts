/**
 * A typed loader over proto/: the `.proto` files are parsed by protobufjs
 * once, at first use, and each message type gets a small typed codec here.
 * Why a loader and not generated code: the .proto files stay the single
 * source of truth (no generated files to keep in sync), and every decode goes
 * through one defensive function that turns protobufjs exceptions and wrong
 * field shapes into `WireError`s. See docs/wire.md.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url))

const roots = new Map<string, protobuf.Root>()
const types = new Map<string, protobuf.Type>()

/**
 * Look up a message type in `proto/<file>`, parsing the file on first use.
 * Types are cached: codecs call this on every encode and decode.
 */
export function protoType(file: string, name: string): protobuf.Type {
  const key = `${file}#${name}`
  let type = types.get(key)
  if (type) return type
  let root = roots.get(file)
  if (!root) {
    root = protobuf.parse(readFileSync(PROTO_DIR + file, 'utf8'), { keepCase: true }).root
    roots.set(file, root)
  }
  type = root.lookupType(name)
  types.set(key, type)
  return type
}

/** Encode a plain object with a message type (fields must already be valid). */
export function encodeMessage(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(value)).finish()
}

/**
 * Decode bytes into a plain object with every field present (defaults filled,
 * 64-bit integers as numbers, bytes as Uint8Array). Throws protobufjs errors
 * on malformed input: callers wrap it.
 */
export function decodeMessage(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  const msg = type.decode(bytes)
  const obj = type.toObject(msg, {
    longs: Number,
    defaults: true,
    bytes: Uint8Array as unknown as ArrayConstructor,
  })
  return obj as Record<string, unknown>
}
