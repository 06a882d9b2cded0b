import { MemoryStore } from '../shared/store/memory.js'
import { runnerContract } from './jobs-runner.contract.js'

runnerContract('memory', async () => new MemoryStore())
