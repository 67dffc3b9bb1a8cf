//! The HTTP API suite on Sqlite (the real server on a free port, a fresh database per test).

mod api;
#[path = "../../limbpath-store/tests/suite/harness.rs"]
#[allow(dead_code)]
mod harness;

const ENGINE: harness::Engine = harness::Engine::Sqlite;
