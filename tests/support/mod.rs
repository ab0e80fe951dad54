//! The harness of the integration tests (`mod support;`): [`Test`] runs the binary with a
//! clean environment and checks what it printed, [`Output::whole`] normalises that for
//! snapshots, and [`nats::NatsServer`] is a real broker for the tests that need one.
// Every test binary compiles the whole harness and uses only part of it.
#![allow(dead_code)]

pub mod certs;
pub mod env;
pub mod nats;
pub mod nodes;
pub mod normalise;
pub mod openssl;
pub mod process;
pub mod test;

use std::path::Path;

// Not every test binary uses every one.
#[allow(unused_imports)]
pub use {
    normalise::normalise,
    process::{Output, Process},
    test::Test,
};

/// The project's root: the runs' working folder by default, and where the fixtures are.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
