#!/usr/bin/env node
// The `homing` bin: TypeScript runs through tsx's loader, so a checkout works right after `npm ci`.
import { register } from 'tsx/esm/api'

register()
await import('./homing.ts')
