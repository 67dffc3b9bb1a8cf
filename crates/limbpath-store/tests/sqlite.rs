//! The storage suite (`tests/suite`) on SQLite: every test in a fresh
//! database file in its own temporary directory.

mod suite;

const ENGINE: suite::harness::Engine = suite::harness::Engine::Sqlite;
