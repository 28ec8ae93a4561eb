/**
 * AVM values: JSON-shaped and immutable. Numbers, strings, booleans, null,
 * lists and maps (plain objects). Operations never mutate a value in place,
 * so a value recorded in the trace or a snapshot stays valid.
 */
export type Value = null | boolean | number | string | Value[] | { [k: string]: Value }
export type VMap = { [k: string]: Value }

const sizeCache = new WeakMap<object, number>()

/** Approximate bytes held by a value (used for the memory and value-size caps). */
export function sizeOf(v: Value): number {
  if (v === null || typeof v !== 'object') {
    return typeof v === 'string' ? 16 + 2 * v.length : 8
  }
  const c = sizeCache.get(v)
  if (c !== undefined) return c
  let s = 16
  if (Array.isArray(v)) {
    for (const x of v) s += sizeOf(x)
  } else {
    for (const k in v) s += 16 + 2 * k.length + sizeOf(v[k] as Value)
  }
  sizeCache.set(v, s)
  return s
}

export function isMap(v: Value): v is VMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

export function truthy(v: Value): boolean {
  if (v === null || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  return true
}

export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b)
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!valueEquals(a[i] as Value, b[i] as Value)) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !valueEquals(a[k] as Value, b[k] as Value)) return false
  }
  return true
}

/** Text form used by string concatenation and LOG. */
export function toText(v: Value): string {
  if (typeof v === 'string') return v
  if (v === null) return 'null'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** Convert any JS value (host answers, JSON) into a Value; functions/undefined become null. */
export function toValue(x: unknown, depth = 0): Value {
  if (depth > 64) return null
  if (x === null || x === undefined) return null
  if (typeof x === 'number') return Number.isFinite(x) ? x : null
  if (typeof x === 'string' || typeof x === 'boolean') return x
  if (typeof x === 'bigint') return Number(x)
  if (Array.isArray(x)) return x.map((e) => toValue(e, depth + 1))
  if (x instanceof Uint8Array) return Array.from(x)
  if (typeof x === 'object') {
    const out: VMap = {}
    for (const [k, e] of Object.entries(x as Record<string, unknown>)) out[k] = toValue(e, depth + 1)
    return out
  }
  return null
}

/** `v.key` / `v[index]` with negative indexes from the end; missing → null. */
export function getMember(v: Value, key: string | number): Value {
  if (Array.isArray(v)) {
    if (key === 'length') return v.length
    if (key === 'empty') return v.length === 0
    if (typeof key === 'number' || /^-?\d+$/.test(key)) {
      let i = Number(key)
      if (i < 0) i += v.length
      return (v[i] as Value | undefined) ?? null
    }
    return null
  }
  if (typeof v === 'string') {
    if (key === 'length') return v.length
    if (key === 'empty') return v.length === 0
    if (typeof key === 'number') {
      const i = key < 0 ? key + v.length : key
      return v[i] ?? null
    }
    return null
  }
  if (isMap(v)) {
    const k = String(key)
    if (Object.hasOwn(v, k)) return v[k] as Value
    if (k === 'empty') return Object.keys(v).length === 0
    if (k === 'length') return Object.keys(v).length
    return null
  }
  if (v === null && key === 'empty') return true
  return null
}

/** Copy-on-write set at a path; returns the new root. */
export function setIn(root: Value, path: (string | number)[], val: Value, i = 0): Value {
  if (i === path.length) return val
  const key = path[i] as string | number
  if (Array.isArray(root)) {
    const copy = root.slice()
    let idx = Number(key)
    if (idx < 0) idx += copy.length
    if (!Number.isInteger(idx) || idx < 0 || idx > copy.length) return root
    copy[idx] = setIn((root[idx] as Value | undefined) ?? null, path, val, i + 1)
    return copy
  }
  const base: VMap = isMap(root) ? { ...root } : {}
  const k = String(key)
  base[k] = setIn(Object.hasOwn(base, k) ? (base[k] as Value) : null, path, val, i + 1)
  return base
}

export function typeName(v: Value): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'list'
  if (typeof v === 'object') return 'map'
  return typeof v
}
