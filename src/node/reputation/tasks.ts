/**
 * The known-task registry behind the report validator's "known task" check.
 * The market integration calls `register(taskId, requester, provider)` on
 * each award it makes or takes part in; entries persist (`rep/` + `k/`).
 *
 * `known()` answers the intake's `TaskKnown` question:
 *  - registered with the same parties → true (accepted);
 *  - registered with other parties → false (rejected, the sender penalised);
 *  - not registered: by the node's `reputation.unknownTasks` policy —
 *    `hold`: `undefined` (held, re-checked, dropped after `holdMs`);
 *    `accept-co-signed`: true if both parties signed (that the task happened
 *    is then all a third-party node can know: awards are not gossiped), else held;
 *    `accept`: true (any validly signed report; one-sided ones weigh half).
 */
import type { UnknownTaskPolicy } from '../config.ts'
import type { KvStore } from '../../common/index.ts'
import { getJson, putJson } from '../../common/index.ts'

export interface TaskRecord {
  requester: string
  provider: string
  registeredAt: number
}

export class TaskRegistry {
  private readonly store: KvStore
  constructor(store: KvStore) {
    this.store = store
  }

  async register(taskId: string, requester: string, provider: string, at: number): Promise<void> {
    await putJson(this.store, `k/${taskId}`, { requester, provider, registeredAt: at } satisfies TaskRecord)
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return getJson<TaskRecord>(this.store, `k/${taskId}`)
  }

  async known(
    taskId: string,
    requester: string,
    provider: string,
    coSigned: boolean,
    policy: UnknownTaskPolicy,
  ): Promise<boolean | undefined> {
    const rec = await this.get(taskId)
    if (rec) return rec.requester === requester && rec.provider === provider
    if (policy === 'accept' || (policy === 'accept-co-signed' && coSigned)) return true
    return undefined
  }
}
