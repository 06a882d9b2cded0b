// A port nobody listens on right now: shared with the benchmarks (bench/free-port.ts).
export { freePort } from '../../bench/free-port.js'
