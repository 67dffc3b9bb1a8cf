//! The storage suite (`tests/suite`) on PostgreSQL: every test in a fresh
//! database created on `LIMBPATH_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped afterwards.
//! An unreachable server fails every test here; nothing is skipped.

mod suite;

const ENGINE: suite::harness::Engine = suite::harness::Engine::Postgres;
