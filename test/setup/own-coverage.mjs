// Loaded into every test process (package.json "tap"."node-arg"). Processes a test starts (homing
// commands, runners) run TypeScript through tsx, whose source maps the coverage report misreads as
// fully covered; so only the test processes themselves, which tap loads through ts-node, are counted.
delete process.env.NODE_V8_COVERAGE
