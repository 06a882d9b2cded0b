// The cross-account inbox: verification codes addressed to this account, while they are valid.
import { api } from './api'
import { useLoad, when } from './hooks'
import { Page, Status } from './ui'

interface Code { sourceAccount: { id: string, name: string }, code: string, createdAt: number, expiresAt: number }

export function Inbox () {
  const codes = useLoad(() => api<{ codes: Code[] }>('GET', '/distribution/verification-codes'), [])
  return (
    <Page title='Verification codes for this account' actions={<button type='button' onClick={codes.reload}>Refresh</button>}>
      <p>Another account that wants to distribute devices to this one asks for a code; give it to them if you agree.</p>
      <Status loaded={codes}>{({ codes: list }) => (
        <table class='grid' aria-label='Verification codes'>
          <thead><tr><th scope='col'>From account</th><th scope='col'>Code</th><th scope='col'>Sent</th><th scope='col'>Expires</th></tr></thead>
          <tbody>
            {list.map(c => <tr key={c.code}><td>{c.sourceAccount.name} ({c.sourceAccount.id})</td><td><code>{c.code}</code></td><td>{when(c.createdAt)}</td><td>{when(c.expiresAt)}</td></tr>)}
            {list.length === 0 && <tr><td colSpan={4}>No pending codes.</td></tr>}
          </tbody>
        </table>
      )}
      </Status>
    </Page>
  )
}
