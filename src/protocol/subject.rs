//! The NATS subjects Choria uses, built from the collective and a name.

/// Where a request to every node running `agent` goes.
pub fn broadcast_subject(collective: &str, agent: &str) -> String {
    format!("{collective}.broadcast.agent.{agent}")
}

/// Where a request to one node goes. Identities hold dots, so this subject has several tokens
/// after `node` (`mcollective.node.web1.example.net`): a node-side wildcard must be `>`.
pub fn direct_subject(collective: &str, identity: &str) -> String {
    format!("{collective}.node.{identity}")
}

/// Where the replies to one request come back.
pub fn reply_subject(collective: &str, sender: &str, request_id: &str) -> String {
    format!("{collective}.reply.{sender}.{request_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_as_choria_names_them() {
        assert_eq!(
            broadcast_subject("mcollective", "rpcutil"),
            "mcollective.broadcast.agent.rpcutil"
        );
        assert_eq!(
            direct_subject("mcollective", "web1.example.net"),
            "mcollective.node.web1.example.net"
        );
        assert_eq!(
            reply_subject("mcollective", "orch.example.net", "abc"),
            "mcollective.reply.orch.example.net.abc"
        );
    }
}
