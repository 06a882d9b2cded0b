// Loaded into every test process (package.json "tap"."node-arg"). Processes a test starts (homing
// commands, runners) run TypeScript through tsx, whose source maps the coverage report misreads as
// fully covered; so only the test processes themselves, which tap loads through ts-node, are counted.
// Both switches are read by a process when it starts, so this one keeps its own coverage.
process.env._TAPJS_PROCESSINFO_COVERAGE_ = '0'
delete process.env.NODE_V8_COVERAGE
