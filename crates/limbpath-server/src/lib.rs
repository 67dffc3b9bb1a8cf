//! # limbpath-server
//!
//! The HTTP edge of LimbPath: the JSON API under `/api/v1/` over the limb
//! record, authentication (cookie sessions and bearer tokens), the role
//! matrix, the audit trail, and errors as RFC 9457 problem+json.
//!
//! This crate owns HTTP and nothing else: clinical logic is in
//! `limbpath-clinical`, validation in `limbpath-record`, persistence in
//! `limbpath-store`.

// The error type is the HTTP problem response itself, built once per failed
// request; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod access;
pub mod analytics;
pub mod app;
pub mod care;
pub mod fhir;
pub mod http;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod templates;
pub mod visits;
pub mod web;

pub use app::{AppState, Config, router};
