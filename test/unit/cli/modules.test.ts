import { describe, expect, it } from 'vitest'
import { COMMAND_MODULES } from '../../../src/cli.ts'

describe('CLI command modules', () => {
  it('each module exports exactly the top-level commands it declares (lazy loading relies on it)', async () => {
    const seen = new Set<string>()
    for (const m of COMMAND_MODULES) {
      const names = (await m.load()).commands.map((c) => c.name).sort()
      expect(names).toEqual([...m.names].sort())
      for (const n of names) {
        expect(seen.has(n), `command '${n}' declared twice`).toBe(false)
        seen.add(n)
      }
    }
  })
})
