//! The NATS subjects Choria uses: built from the collective and a name, and read back (which
//! node or agent a subject addresses). The NATS rules for subjects in general (valid tokens,
//! wildcard matching) are the transport's (transport/subject.rs).

/// Where a request to every node running `agent` goes.
pub fn broadcast_subject(collective: &str, agent: &str) -> String {
    format!("{collective}.broadcast.agent.{agent}")
}

/// Where a request to one node goes. Identities hold dots, so this subject has several tokens
/// after `node` (`mcollective.node.web1.example.net`): a node-side wildcard must be `>`.
pub fn direct_subject(collective: &str, identity: &str) -> String {
    format!("{collective}.node.{identity}")
}

/// The subscription subject covering every node's direct subject in `collective`: the
/// simulated fleet's one subscription for all of its nodes.
pub fn direct_subjects(collective: &str) -> String {
    format!("{collective}.node.>")
}

/// Whom a request subject addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressee<'a> {
    /// Every node running this agent ([`broadcast_subject`]).
    Agent(&'a str),
    /// The node of this identity ([`direct_subject`]).
    Node(&'a str),
}

impl<'a> Addressee<'a> {
    /// Whom `subject` addresses in `collective`; None for any other subject.
    pub fn of(collective: &str, subject: &'a str) -> Option<Addressee<'a>> {
        let rest = subject.strip_prefix(collective)?.strip_prefix('.')?;
        if let Some(identity) = rest.strip_prefix("node.") {
            return Some(Addressee::Node(identity));
        }
        let agent = rest.strip_prefix("broadcast.agent.")?;
        (!agent.contains('.')).then_some(Addressee::Agent(agent))
    }
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
        assert_eq!(direct_subjects("mcollective"), "mcollective.node.>");
    }

    #[test]
    fn subjects_read_back_to_whom_they_address() {
        let direct = direct_subject("mc", "web1.example.net");
        assert_eq!(
            Addressee::of("mc", &direct),
            Some(Addressee::Node("web1.example.net"))
        );
        let broadcast = broadcast_subject("mc", "rpcutil");
        assert_eq!(
            Addressee::of("mc", &broadcast),
            Some(Addressee::Agent("rpcutil"))
        );
        for other in [
            "other.node.web1",
            "mcx.node.web1",
            "mc.reply.orch.1",
            "mc.broadcast.agent.a.b",
            "mc",
        ] {
            assert_eq!(Addressee::of("mc", other), None, "{other}");
        }
    }
}
