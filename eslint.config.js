// Lint: neostandard (standard's rules for modern JavaScript and TypeScript), run by `npm test`.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'node_modules/**', 'bench/results/**']
  }),
  {
    rules: {
      // `void promise` marks a promise that is deliberately not awaited (its errors are handled inside).
      'no-void': ['error', { allowAsStatement: true }],
      // Loops that wait for a flag a callback sets ("while (open) await ..."): the rule cannot see closures.
      'no-unmodified-loop-condition': 'off',
      // The console's components pass callbacks named for what they do (onDone={reload}), not handleX.
      'react/jsx-handler-names': 'off'
    }
  }
]
