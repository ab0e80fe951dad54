//! For tests: a simulated fleet on the in-process transport, with a spy subscribed to the
//! nodes' subjects that records every request they receive, in the order sent.

use std::sync::{Arc, Mutex};

use crate::protocol::decode_request;
use crate::rpc::{ClientOptions, RpcClient};
use crate::transport::{InProcess, Transport};

use super::{FleetFile, SimulatedFleet};

pub struct SpiedFleet {
    /// A client of the fleet, as the user `rip`.
    pub rpc: RpcClient,
    /// `(node, action)` of every request, in the order sent.
    seen: Arc<Mutex<Vec<(String, String)>>>,
    _fleet: SimulatedFleet,
    spying: tokio::task::JoinHandle<()>,
}

impl SpiedFleet {
    pub async fn serve(file: FleetFile) -> SpiedFleet {
        let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
        let fleet = SimulatedFleet::serve(file, transport.clone(), "mcollective")
            .await
            .unwrap();
        let mut spy = transport
            .subscribe("mcollective.node.>".into())
            .await
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorder = seen.clone();
        let spying = tokio::spawn(async move {
            while let Some(message) = spy.next().await {
                if let Ok(request) = decode_request(&message.payload) {
                    let node = message.subject.trim_start_matches("mcollective.node.");
                    recorder
                        .lock()
                        .unwrap()
                        .push((node.to_string(), request.action));
                }
            }
        });
        SpiedFleet {
            rpc: RpcClient::new(transport, ClientOptions::for_user("rip")),
            seen,
            _fleet: fleet,
            spying,
        }
    }

    /// The requests seen so far: `(node, action)`.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// The nodes each `action` went to, in order.
    pub fn sent(&self, action: &str) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|(_, a)| a == action)
            .map(|(node, _)| node)
            .collect()
    }
}

impl Drop for SpiedFleet {
    fn drop(&mut self) {
        self.spying.abort();
    }
}
