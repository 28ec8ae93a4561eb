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

/** Look up a message type in `proto/<file>`, parsing the file on first use. */
export function protoType(file: string, name: string): protobuf.Type {
  let root = roots.get(file)
  if (!root) {
    root = protobuf.parse(readFileSync(PROTO_DIR + file, 'utf8'), { keepCase: true }).root
    roots.set(file, root)
  }
  return root.lookupType(name)
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
