//! Integration tests: the real server on an ephemeral port, a fresh data folder
//! per test, plain HTTP. One test binary for the whole crate.

#![allow(clippy::unwrap_used, missing_docs)]

mod access;
mod analysis;
mod bad_input;
mod blobs;
mod browser;
mod cli;
mod cluster;
mod command;
mod console;
mod crash;
mod duplicates;
mod geography;
mod helpers;
mod intake;
mod layers;
mod lifecycle;
mod matrix;
mod open311;
mod ops;
mod redaction;
mod security;
mod sentinels;
