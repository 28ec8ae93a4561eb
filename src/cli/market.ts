/** CLI commands of the market subsystem: offline clearing (`swarmd market clear`). */
import { readFile } from 'node:fs/promises'
import { errorMessage, UserError } from '../common/index.ts'
import { getMechanism, MECHANISM_NAMES, type MechanismName } from '../market/index.ts'
import { type Command, printJson, table } from './command.ts'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of process.stdin) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function readInput(file: string): Promise<unknown> {
  let text: string
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${errorMessage(err)}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${errorMessage(err)}`)
  }
}

const clear: Command = {
  name: 'clear',
  summary: 'clear one procurement auction offline from a JSON file',
  description: `Input: { "units": K, "reserve": R, "bids": [{ "bidder": "id", "offers": [{ "units": u, "price": p }] }] }
The buyer wants up to K units worth R credits each; each seller's offers are XOR (at most one is accepted).
Units, prices and the reserve are whole numbers of credits.
Output: { "welfare", "winners": [{ "bidder", "units", "price", "payment" }], "totalPayment" }`,
  flags: {
    mechanism: {
      type: 'string',
      description: 'clearing mechanism',
      choices: MECHANISM_NAMES,
      default: 'vcg',
    },
    input: { type: 'string', description: "instance file (JSON), '-' for stdin", placeholder: 'FILE' },
  },
  async run({ flags, io }) {
    const file = flags.input
    if (typeof file !== 'string')
      throw new UserError("missing --input FILE (see 'swarmd market clear --help')")
    const input = await readInput(file)
    const mech = getMechanism(flags.mechanism as MechanismName)
    let res: ReturnType<typeof mech.clear>
    try {
      res = mech.clear(input as Parameters<typeof mech.clear>[0])
    } catch (err) {
      throw new UserError(`${file}: ${errorMessage(err)}`)
    }
    const out = {
      welfare: res.welfare,
      winners: res.winners.map((w) => ({
        bidder: w.bidder,
        units: w.units,
        price: w.price,
        payment: w.payment,
      })),
      totalPayment: res.totalPayment,
    }
    if (flags.json) {
      printJson(io, out)
      return 0
    }
    io.out(`mechanism ${mech.name}: welfare ${out.welfare}, total payment ${out.totalPayment}\n`)
    if (out.winners.length === 0) io.out('no winners\n')
    else
      io.out(
        `${table(
          ['bidder', 'units', 'price', 'payment'],
          out.winners.map((w) => [w.bidder, w.units, w.price, w.payment]),
        )}\n`,
      )
    return 0
  },
}

export const commands: Command[] = [
  {
    name: 'market',
    summary: 'auctions and clearing mechanisms',
    subcommands: [clear],
  },
]
