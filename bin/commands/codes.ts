// Verification codes for cross-account distribution (docs/distribution.md, "Rule 10"), as operator commands:
//   homing code send --account ACCOUNT   ask for a code; it goes to that account's owner, not to you
//   homing code list                     the codes addressed to your account that are still valid
import type { Command } from 'commander'
import { action, callApi, withApiOptions, type ApiTarget } from './api-client.js'
import { printAnswer, printOne, withOutput, type OutputOptions } from './output.js'

interface CodeView {
  sourceAccount: { id: string, name: string }
  code: string
  createdAt: number
  expiresAt: number
}

const print = (value: unknown): void => { process.stdout.write(`${JSON.stringify(value, null, 2)}\n`) }

export function registerCodes (program: Command): void {
  const code = program.command('code').description('verification codes for cross-account distribution: send, list')
  withOutput(withApiOptions(code.command('send')))
    .description('send a verification code to the owner of another account (valid 5 minutes); ask them for it, then `homing distribute --to-account ... --code ...`')
    .requiredOption('--account <account>', 'the destination account, by id or name')
    .action(action(async (opts: ApiTarget & OutputOptions & { account: string }) => {
      const answer = JSON.parse((await callApi(opts, 'POST', '/distribution/verification-codes', { targetAccount: opts.account })).text) as { targetAccount: string, expiresAt: number, message: string }
      if (opts.output === 'json') return print(answer)
      printOne(opts.output, answer, [
        { header: 'to', value: a => a.targetAccount },
        { header: 'expires', value: a => a.expiresAt, time: true },
        { header: 'message', value: a => a.message }
      ])
    }))
  withOutput(withApiOptions(code.command('list')))
    .description('codes other accounts asked for, addressed to yours, still valid: give one to the sender you trust')
    .action(action(async (opts: ApiTarget & OutputOptions) => {
      const answer = JSON.parse((await callApi(opts, 'GET', '/distribution/verification-codes')).text) as { codes: CodeView[] }
      printAnswer(opts.output, answer, a => a.codes, [
        { header: 'from', value: c => c.sourceAccount.id },
        { header: 'fromName', value: c => c.sourceAccount.name },
        { header: 'code', value: c => c.code },
        { header: 'created', value: c => c.createdAt, time: true },
        { header: 'expires', value: c => c.expiresAt, time: true }
      ])
    }))
}
