//! # limbpath-server
//!
//! The HTTP edge of LimbPath: the JSON API under `/api/v1/` over the limb
//! record, authentication (cookie sessions and bearer tokens), the role
//! matrix, the audit trail, and errors as RFC 9457 problem+json.
//!
//! This crate owns HTTP and nothing else: clinical logic is in
//! `limbpath-clinical`, validation in `limbpath-record`, persistence in
//! `limbpath-store`.

pub mod access;
pub mod http;
pub mod problem;
