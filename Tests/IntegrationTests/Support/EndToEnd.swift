import Testing

/// Every suite that drives the real binary against an in-process sandbox. They run one at a time: each spawns a
/// process with up to 16 requests in flight, and on a 2-core machine running them together starves the sandboxes'
/// event loops until timeouts they did not mean to test (and waits for the sandbox's counters) turn into noise.
/// The unit suites still run in parallel beside them.
@Suite(.serialized) enum EndToEnd {}
