import { describe, expect, it } from 'vitest'
import { offlineHost } from '../../../src/vm/index.ts'
import { exec } from './helpers.ts'

describe('time and state opcodes', () => {
  it('GET_CURRENT_TIME and WAIT use the host clock', async () => {
    const host = offlineHost({ startMs: 1000 })
    const { result } = await exec('GET_CURRENT_TIME -> a\nWAIT 250\nGET_CURRENT_TIME -> b\nHALT [a, b]', {
      host,
    })
    expect(result.output).toEqual([1000, 1250])
  })
  it('RANDOM comes from the host generator (seeded: reproducible)', async () => {
    const a = await exec('RANDOM -> r\nHALT r', { host: offlineHost({ seed: 4 }) })
    const b = await exec('RANDOM -> r\nHALT r', { host: offlineHost({ seed: 4 }) })
    expect(a.result.output).toBe(b.result.output)
    expect(typeof a.result.output).toBe('number')
  })
  it('SAVE / LOAD / RESET_EXECUTION_STATE', async () => {
    const host = offlineHost()
    await exec('SET R_state = {n: 1}\nSAVE_EXECUTION_STATE', { host })
    const { result } = await exec(
      'LOAD_EXECUTION_STATE\nSET a = R_state\nRESET_EXECUTION_STATE\nLOAD_EXECUTION_STATE -> b\nHALT [a, b, R_state]',
      { host },
    )
    expect(result.output).toEqual([{ n: 1 }, null, null])
  })
  it('CREATE_SYSTEM_CHECKPOINT stores a restorable snapshot', async () => {
    const { result, host } = await exec('SET x = 5\nCREATE_SYSTEM_CHECKPOINT label="v1" -> l\nHALT l')
    expect(result.output).toBe('v1')
    const raw = await host.store.get(`a/${host.agentId}/kv/x`)
    expect(raw).toBeUndefined()
    const ck = await host.store.get(`a/${host.agentId}/checkpoints/v1`)
    expect(ck).toBeDefined()
  })
  it('SCHEDULE_TASK records the task', async () => {
    const { host } = await exec('SCHEDULE_TASK "report", 60')
    expect(await host.store.get(`a/${host.agentId}/tasks/report`)).toBeDefined()
  })
})
