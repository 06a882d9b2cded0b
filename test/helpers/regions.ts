// The regions the test topologies are made of, with the coordinates nearest placement measures from.
// Frozen: every config shares them, so a test that changes one fails instead of changing the others'.
export const SHANGHAI = Object.freeze({ id: 'cn-shanghai', name: 'China (Shanghai)', lat: 31.23, lon: 121.47 })
export const FRANKFURT = Object.freeze({ id: 'eu-central-1', name: 'Germany (Frankfurt)', lat: 50.11, lon: 8.68 })
export const SILICON_VALLEY = Object.freeze({ id: 'us-west-1', name: 'US (Silicon Valley)', lat: 37.39, lon: -122.08 })
