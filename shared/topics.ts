// docs/protocol.md, "Topics": the topics a device may use, and docs/protocol.md, "Notify and reply": the notify topics.

export const notifyTopic = (pk: string, dn: string): string => `/sys/${pk}/${dn}/thing/bootstrap/notify`
export const notifyReplyTopic = (pk: string, dn: string): string => `/sys/${pk}/${dn}/thing/bootstrap/notify_reply`
export const propertyPostTopic = (pk: string, dn: string): string => `/sys/${pk}/${dn}/thing/event/property/post`

const KIND = Symbol('any one literal level')
type Pattern = (string | typeof KIND)[]

/** The subtrees of docs/protocol.md, "Topics": fixed prefix, whether topics continue below it, who may use it. */
function subtrees (pk: string, dn: string): { prefix: Pattern, below: boolean, subscribeOnly?: true }[] {
  return [
    { prefix: ['', pk, dn], below: true },
    { prefix: ['', 'sys', pk, dn], below: true },
    { prefix: ['', 'ota', 'device', KIND, pk, dn], below: false },
    { prefix: ['', 'shadow', KIND, pk, dn], below: false },
    { prefix: ['', 'ext', KIND, pk, dn], below: true },
    { prefix: ['', 'broadcast', pk], below: true, subscribeOnly: true }
  ]
}

const isWildcard = (level: string): boolean => level.includes('+') || level.includes('#')

/** Wildcards below the prefix: whole levels only, "#" last (publish takes none). */
function validRest (rest: string[], action: 'publish' | 'subscribe'): boolean {
  return rest.every((level, i) => {
    if (!isWildcard(level)) return true
    if (action === 'publish') return false
    return level === '+' || (level === '#' && i === rest.length - 1)
  })
}

/**
 * Whether device (pk, dn) may publish or subscribe to `topic`. Wildcards only below the device's
 * own prefix (`/<pk>/<dn>/#` yes, `/<pk>/+/user/#` no, `#` no).
 */
export function allowed (topic: string, pk: string, dn: string, action: 'publish' | 'subscribe'): boolean {
  const levels = topic.split('/')
  return subtrees(pk, dn).some(({ prefix, below, subscribeOnly }) => {
    if (subscribeOnly && action !== 'subscribe') return false
    if (levels.length < prefix.length) return false
    const fixed = prefix.every((want, i) => {
      const level = levels[i] as string
      return want === KIND ? level !== '' && !isWildcard(level) : level === want
    })
    if (!fixed) return false
    const rest = levels.slice(prefix.length)
    if (!below) return rest.length === 0
    return rest.length > 0 && validRest(rest, action)
  })
}
