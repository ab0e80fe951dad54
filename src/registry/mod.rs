//! The node registry: every node's inventory (identity, collectives, agents with versions,
//! facts, classes) in a JetStream key-value bucket, one entry per node, so a client can choose
//! nodes without asking the fleet and waiting out a discovery window.
//!
//! A node writes its entry when it starts and whenever its facts or classes change, signed by
//! its certificate when security is on, and writes the same bytes again every heartbeat; the
//! bucket's age limit removes a node that stopped heartbeating. The time a node was last seen
//! is the broker's time of its latest write, not something the node claims. A reader drops an
//! entry whose signature, certificate or name does not check, and checks an entry's signature
//! once: the same bytes again (a heartbeat) cost one comparison.

mod checked;
mod entry;
mod error;
pub mod permissions;
mod publish;
mod section;
mod store;

pub use entry::{AgentVersion, Inventory, RegisteredNode};
pub use error::{RegistryError, RegistryErrorKind};
pub use publish::{Heartbeat, PublishedNode};
pub use section::{DiscoveryMethod, RegistrySection, DEFAULT_BUCKET, DEFAULT_HEARTBEAT};
pub use store::Registry;
