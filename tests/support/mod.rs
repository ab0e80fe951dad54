//! Shared by the integration tests that need real processes around the binary: `mod support;`.
#![allow(dead_code)]

pub mod nats;
