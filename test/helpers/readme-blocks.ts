// README.md's walk-through as a script: its ```sh blocks, in order, run in one bash session.
// A block right after `<!-- not run in tests: reason -->` is left out (README.md, "Development").
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Block {
  /** The heading of the section the block is in. */
  section: string
  /** 1-based line of the block's opening fence in the file. */
  line: number
  text: string
  /** The reason given in a `<!-- not run in tests: ... -->` comment right before it, or null. */
  notRun: string | null
}

const NOT_RUN = /^<!--\s*not run in tests:\s*(.*?)\s*-->$/

/** Every ```sh block of the sections whose heading one of `sections` matches (up to the next heading). */
export function shellBlocks (markdown: string, sections: readonly RegExp[]): Block[] {
  const lines = markdown.split('\n')
  const blocks: Block[] = []
  let heading = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const fence = /^```(\S*)\s*$/.exec(line)
    if (fence !== null) {
      let end = i + 1
      while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++
      if (fence[1] === 'sh' && sections.some(s => s.test(heading))) {
        let before = i - 1
        while (before >= 0 && (lines[before] ?? '').trim() === '') before--
        const comment = NOT_RUN.exec((lines[before] ?? '').trim())
        blocks.push({ section: heading, line: i + 1, text: lines.slice(i + 1, end).join('\n'), notRun: comment?.[1] ?? null })
      }
      i = end
      continue
    }
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '')
  }
  return blocks
}

export interface Run {
  /** bash's exit code (null when it was killed). */
  code: number | null
  /** The block that failed, or null when every block ran. */
  failed: Block | null
  output: string
}

/**
 * Runs the blocks in order in one `bash` with `set -e -o pipefail`, in `cwd`; stops at the first
 * that fails. The session and whatever it left in the background are killed after `ms` and at the end.
 */
export async function runBlocks (blocks: readonly Block[], opts: { cwd: string, env: NodeJS.ProcessEnv, ms: number }): Promise<Run> {
  const state = join(opts.cwd, '.walkthrough-block')
  const script = [
    'set -e -o pipefail',
    '__block=none',
    `trap 'echo "$__block" > ${JSON.stringify(state)}' EXIT`,
    ...blocks.flatMap((b, i) => [`__block=${i}`, `echo ${JSON.stringify(`--- README.md:${b.line} (${b.section})`)}`, b.text]),
    '__block=done'
  ].join('\n') + '\n'
  const file = join(opts.cwd, '.walkthrough.sh')
  writeFileSync(file, script)
  const child = spawn('bash', ['--noprofile', '--norc', file], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const killGroup = (): void => { try { process.kill(-(child.pid ?? 0), 'SIGKILL') } catch {} }
  const timer = setTimeout(() => { output += `\n(killed: the walk-through did not end within ${opts.ms} ms)\n`; killGroup() }, opts.ms)
  // 'exit', not 'close': a block's background process may hold the pipes open.
  const closed = new Promise<void>(resolve => child.once('close', () => resolve()))
  const code = await new Promise<number | null>(resolve => child.once('exit', c => resolve(c)))
  clearTimeout(timer)
  killGroup() // the background device of "Move a live device", and anything else left running
  await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 2000))])
  let last = 'none'
  try {
    last = readFileSync(state, 'utf8').trim()
  } catch {}
  const failed = code === 0 && last === 'done' ? null : blocks[Number(last)] ?? blocks[0] ?? null
  return { code, failed, output }
}
