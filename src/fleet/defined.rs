//! Agents the fleet file defines: each action answers its default reply, after checking its
//! required inputs. Stateless, so every node running the agent shares one.

use std::collections::BTreeMap;

use crate::agent::{Agent, NodeInfo};
use crate::protocol::{Request, RpcReplyBody};
use crate::transport::BoxFuture;

use super::file::{ActionSpec, ReplySpec};
use super::template::render;

pub(crate) struct DefinedAgent {
    name: String,
    actions: BTreeMap<String, ActionSpec>,
}

impl DefinedAgent {
    pub fn new(name: &str, actions: BTreeMap<String, ActionSpec>) -> DefinedAgent {
        DefinedAgent {
            name: name.to_string(),
            actions,
        }
    }

    fn answer(&self, request: &Request) -> RpcReplyBody {
        let Some(action) = self.actions.get(&request.action) else {
            return RpcReplyBody::unknown_action(&self.name, &request.action);
        };
        let missing = action.inputs.iter().find(|input| {
            request
                .data
                .get(input.as_str())
                .is_none_or(serde_json::Value::is_null)
        });
        match missing {
            Some(input) => RpcReplyBody::missing_input(input),
            None => scripted_body(&action.reply(), request),
        }
    }
}

/// The body a reply spec stands for, its data rendered with the request's inputs.
pub(crate) fn scripted_body(reply: &ReplySpec, request: &Request) -> RpcReplyBody {
    RpcReplyBody {
        statuscode: reply.statuscode,
        statusmsg: reply.statusmsg(),
        data: render(&reply.data, &request.data),
    }
}

impl Agent for DefinedAgent {
    fn handle<'a>(
        &'a self,
        _node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        let reply = self.answer(request);
        Box::pin(async move { reply })
    }
}
