//! Scripted replies: a node's list of replies for one `agent#action`, consumed one per request
//! before the agent itself answers again (fail twice, then succeed).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::agent::{Agent, NodeInfo};
use crate::protocol::{Request, RpcReplyBody};
use crate::transport::BoxFuture;

use super::defined::scripted_body;
use super::file::ReplySpec;

/// Wraps one node's agent with that node's scripted replies.
pub(crate) struct Scripted {
    inner: Arc<dyn Agent>,
    script: Mutex<BTreeMap<String, VecDeque<ReplySpec>>>,
}

impl Scripted {
    pub fn new(inner: Arc<dyn Agent>, script: &BTreeMap<String, Vec<ReplySpec>>) -> Scripted {
        let script = script
            .iter()
            .map(|(action, replies)| (action.clone(), replies.iter().cloned().collect()))
            .collect();
        Scripted {
            inner,
            script: Mutex::new(script),
        }
    }

    fn next_scripted(&self, action: &str) -> Option<ReplySpec> {
        let mut script = self
            .script
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        script.get_mut(action)?.pop_front()
    }
}

impl Agent for Scripted {
    fn handle<'a>(
        &'a self,
        node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        match self.next_scripted(&request.action) {
            Some(reply) => {
                let body = scripted_body(&reply, request);
                Box::pin(async move { body })
            }
            None => self.inner.handle(node, request),
        }
    }
}
