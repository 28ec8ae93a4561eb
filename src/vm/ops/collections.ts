/** Strings, lists, maps and conversation messages. Values are immutable: every operation returns a new value. */
import { asList, asNumber, asString, invalid } from '../fault.ts'
import { getMember, isMap, toText, type Value, type VMap, valueEquals } from '../values.ts'
import { a0, a1, lenGas, strOp, v, writeBack } from './operands.ts'
import { arg, argOr, CONTINUE, type OpSpec, val } from './types.ts'

export const collectionOps: OpSpec[] = [
  strOp(
    'CONCAT',
    [v('a'), v('b')],
    'Text of `a` followed by text of `b`.',
    (m, ins) => toText(a0(m, ins)) + toText(a1(m, ins)),
  ),
  strOp('TO_STRING', [v('a')], 'Text form of any value (JSON for lists and maps).', (m, ins) =>
    toText(a0(m, ins)),
  ),
  strOp('TO_NUMBER', [v('a')], 'Parse a number; null if not a number.', (m, ins) => {
    const x = Number(toText(a0(m, ins)).trim())
    return Number.isFinite(x) ? x : null
  }),
  strOp('STR_LEN', [v('s')], 'Length of a string (or list).', (m, ins) => {
    const s = a0(m, ins)
    return Array.isArray(s) ? s.length : asString(s, 'STR_LEN operand').length
  }),
  strOp(
    'SUBSTR',
    [v('s'), v('start'), v('length', true)],
    'Substring from `start` (negative from the end).',
    (m, ins) => {
      const s = asString(a0(m, ins), 'SUBSTR string')
      let st = asNumber(a1(m, ins), 'start')
      if (st < 0) st += s.length
      const n = ins.given[2] ? asNumber(arg(m, ins, 2), 'length') : s.length
      return s.substr(st, n)
    },
  ),
  strOp('UPPER', [v('s')], 'Upper-case.', (m, ins) => asString(a0(m, ins), 'UPPER operand').toUpperCase()),
  strOp('LOWER', [v('s')], 'Lower-case.', (m, ins) => asString(a0(m, ins), 'LOWER operand').toLowerCase()),
  strOp('TRIM', [v('s')], 'Strip surrounding whitespace.', (m, ins) =>
    asString(a0(m, ins), 'TRIM operand').trim(),
  ),
  strOp('SPLIT', [v('s'), v('sep')], 'Split a string into a list.', (m, ins) =>
    asString(a0(m, ins), 'SPLIT string').split(asString(a1(m, ins), 'separator')),
  ),
  strOp('JOIN', [v('list'), v('sep', true)], 'Join list items (as text) with `sep` (default "").', (m, ins) =>
    asList(a0(m, ins), 'JOIN list')
      .map(toText)
      .join(ins.given[1] ? asString(a1(m, ins), 'separator') : ''),
  ),
  strOp(
    'CONTAINS',
    [v('haystack'), v('needle')],
    'Substring test on strings, membership on lists, key test on maps.',
    (m, ins) => {
      const h = a0(m, ins)
      const n = a1(m, ins)
      if (typeof h === 'string') return h.includes(toText(n))
      if (Array.isArray(h)) return h.some((x) => valueEquals(x, n))
      if (isMap(h)) return Object.hasOwn(h, toText(n))
      return false
    },
  ),
  strOp('REPLACE', [v('s'), v('find'), v('with')], 'Replace every occurrence of `find`.', (m, ins) =>
    asString(a0(m, ins), 'REPLACE string')
      .split(asString(a1(m, ins), 'find'))
      .join(toText(arg(m, ins, 2))),
  ),
  {
    name: 'LIST_NEW',
    params: [],
    variadic: true,
    result: true,
    gas: 1,
    dynGas: (_m, ins) => ins.rest.length,
    gasDoc: '1 + number of items',
    doc: 'A list of the operands.',
    run: (m, ins) =>
      m.set(
        ins.dst,
        ins.rest.map((o) => val(m, o)),
      ),
  },
  {
    name: 'LIST_PUSH',
    params: [v('list'), v('item')],
    result: true,
    gas: 2,
    dynGas: (m, ins) => lenGas(a0(m, ins)),
    gasDoc: '2 + length/8 (copy)',
    doc: 'A new list with `item` appended (a null list counts as empty).',
    run: (m, ins) => {
      const l = a0(m, ins)
      return m.set(ins.dst, [...(l === null ? [] : asList(l, 'LIST_PUSH list')), a1(m, ins)])
    },
  },
  {
    name: 'LIST_GET',
    params: [v('list'), v('index')],
    result: true,
    gas: 1,
    doc: 'Item at `index` (negative from the end); null when out of range.',
    run: (m, ins) => {
      const l = asList(a0(m, ins), 'LIST_GET list')
      return m.set(ins.dst, getMember(l, asNumber(a1(m, ins), 'index')))
    },
  },
  {
    name: 'LIST_SET',
    params: [v('list'), v('index'), v('item')],
    result: true,
    gas: 2,
    dynGas: (m, ins) => lenGas(a0(m, ins)),
    gasDoc: '2 + length/8 (copy)',
    doc: 'A new list with the item at `index` replaced.',
    run: (m, ins) => {
      const l = asList(a0(m, ins), 'LIST_SET list')
      let i = asNumber(a1(m, ins), 'index')
      if (i < 0) i += l.length
      if (!Number.isInteger(i) || i < 0 || i >= l.length) throw invalid(`index ${i} out of range`)
      const c = l.slice()
      c[i] = arg(m, ins, 2)
      return m.set(ins.dst, c)
    },
  },
  {
    name: 'LIST_LEN',
    params: [v('list')],
    result: true,
    gas: 1,
    doc: 'Number of items (0 for null).',
    run: (m, ins) => {
      const l = a0(m, ins)
      m.regs[ins.dst] = l === null ? 0 : asList(l, 'LIST_LEN list').length
      return CONTINUE
    },
  },
  {
    name: 'LIST_SLICE',
    params: [v('list'), v('start'), v('end', true)],
    result: true,
    gas: 2,
    dynGas: (m, ins) => lenGas(a0(m, ins)),
    gasDoc: '2 + length/8',
    doc: 'Items from `start` up to (not including) `end`.',
    run: (m, ins) => {
      const l = asList(a0(m, ins), 'LIST_SLICE list')
      const end = ins.given[2] ? asNumber(arg(m, ins, 2), 'end') : l.length
      return m.set(ins.dst, l.slice(asNumber(a1(m, ins), 'start'), end))
    },
  },
  {
    name: 'APPEND_MESSAGE',
    params: [{ name: 'conversation', kind: 'lvalue' }, v('role'), v('content')],
    result: false,
    gas: 3,
    dynGas: (m, ins) => lenGas(arg(m, ins, 0)),
    gasDoc: '3 + length/8',
    doc: 'Append `{role, content}` to the conversation list at a register path, in place (e.g. `R_state.conversation`).',
    run: (m, ins) => {
      const cur = arg(m, ins, 0)
      const list = cur === null ? [] : asList(cur, 'conversation')
      return writeBack(m, ins, 0, [...list, { role: toText(arg(m, ins, 1)), content: arg(m, ins, 2) }])
    },
  },
  {
    name: 'MAP_NEW',
    params: [],
    result: true,
    gas: 1,
    doc: 'An empty map.',
    run: (m, ins) => m.set(ins.dst, {}),
  },
  {
    name: 'MAP_SET',
    params: [v('map'), v('key'), v('value')],
    result: true,
    gas: 2,
    dynGas: (m, ins) => lenGas(a0(m, ins)),
    gasDoc: '2 + keys/8 (copy)',
    doc: 'A new map with `key` set (a null map counts as empty).',
    run: (m, ins) => {
      const mp = a0(m, ins)
      if (mp !== null && !isMap(mp)) throw invalid('MAP_SET needs a map')
      const c: VMap = { ...(mp ?? {}) }
      c[toText(a1(m, ins))] = arg(m, ins, 2)
      return m.set(ins.dst, c)
    },
  },
  {
    name: 'MAP_GET',
    params: [v('map'), v('key'), v('default', true)],
    result: true,
    gas: 1,
    doc: 'Value at `key`, else `default` (null).',
    run: (m, ins) => {
      const mp = a0(m, ins)
      const k = toText(a1(m, ins))
      return m.set(ins.dst, isMap(mp) && Object.hasOwn(mp, k) ? (mp[k] as Value) : argOr(m, ins, 2, null))
    },
  },
  {
    name: 'MAP_HAS',
    params: [v('map'), v('key')],
    result: true,
    gas: 1,
    doc: 'Whether `key` is present.',
    run: (m, ins) => {
      const mp = a0(m, ins)
      m.regs[ins.dst] = isMap(mp) && Object.hasOwn(mp, toText(a1(m, ins)))
      return CONTINUE
    },
  },
  {
    name: 'MAP_DEL',
    params: [v('map'), v('key')],
    result: true,
    gas: 2,
    dynGas: (m, ins) => lenGas(a0(m, ins)),
    gasDoc: '2 + keys/8',
    doc: 'A new map without `key`.',
    run: (m, ins) => {
      const mp = a0(m, ins)
      if (!isMap(mp)) throw invalid('MAP_DEL needs a map')
      const c: VMap = { ...mp }
      delete c[toText(a1(m, ins))]
      return m.set(ins.dst, c)
    },
  },
  {
    name: 'MAP_KEYS',
    params: [v('map')],
    result: true,
    gas: 2,
    dynGas: (m, ins) => lenGas(a0(m, ins)),
    gasDoc: '2 + keys/8',
    doc: 'Sorted list of keys.',
    run: (m, ins) => {
      const mp = a0(m, ins)
      return m.set(ins.dst, isMap(mp) ? Object.keys(mp).sort() : [])
    },
  },
]
