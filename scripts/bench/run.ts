/**
 * `npm run bench [-- NAME...]`: runs the benchmarks in test/perf/NAME.bench.ts
 * (all of them without arguments), each in its own Node process, and writes
 * what each prints (a Markdown section) into docs/benchmarks.md between
 * `<!-- bench:NAME -->` markers, with the command and the machine. Sections of
 * benchmarks not run this time are kept as they were.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const perfDir = join(root, 'test/perf')
const docPath = join(root, 'docs/benchmarks.md')

const available = readdirSync(perfDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort()
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
for (const w of wanted) {
  if (!available.includes(w)) {
    process.stderr.write(`bench: no benchmark '${w}' (have: ${available.join(', ')})\n`)
    process.exit(2)
  }
}
const names = wanted.length ? wanted : available

function runOne(name: string): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(perfDir, `${name}.bench.ts`)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      process.stdout.write(d)
    })
    child.on('close', (code) => resolve({ ok: code === 0, out }))
  })
}

const header = `# Benchmarks

Produced by \`npm run bench\` (all) or \`npm run bench -- NAME\` (one section). Each section says when
and on what it was measured. The machines are shared and noisy: figures are medians of repeated runs,
and every speed is given next to a baseline measured in the same run.
`

let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : header
if (!doc.startsWith('# Benchmarks')) doc = header + doc
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`

let failed = 0
for (const name of names) {
  process.stderr.write(`bench: ${name}\n`)
  const { ok, out } = await runOne(name)
  if (!ok) {
    failed++
    process.stderr.write(`bench: ${name} failed; its section is left as it was\n`)
    continue
  }
  const stamp = `_Measured ${new Date().toISOString().slice(0, 10)} on ${machine} with \`npm run bench -- ${name}\`._`
  const section = `<!-- bench:${name} -->\n${out.trim()}\n\n${stamp}\n<!-- /bench:${name} -->`
  const re = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`)
  doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`
  writeFileSync(docPath, doc)
}
process.exit(failed ? 1 : 0)
