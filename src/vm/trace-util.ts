/** Canonical JSON for comparing values in replay (sorted keys). */
import type { Value } from './values.ts'

export function canonical(v: Value | undefined): string {
  if (v === undefined) return 'undefined'
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k] as Value)}`)
    .join(',')}}`
}
