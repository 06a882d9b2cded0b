// Baseline: Aedes 1.x over TCP, no authentication, default in-memory persistence and emitter.
import { Aedes } from 'aedes'
import { listenAedes } from './listen-aedes.js'
import { serve } from './serve.js'

serve('bare-aedes', async () => await listenAedes(await Aedes.createBroker()))
