//! The NATS subjects Choria uses: built from the collective and a name, and read back (which
//! node or agent a subject addresses). The NATS rules for subjects in general (valid tokens,
//! wildcard matching) are the transport's (transport/subject.rs).

use crate::transport::validate_publish_subject;

/// Whether `identity` can name a node in its direct subject: NATS tokens (no whitespace, no
/// wildcard, none empty) joined by dots.
pub fn is_valid_identity(identity: &str) -> bool {
    validate_publish_subject(identity).is_ok()
}

/// Whether `name` (a collective, an agent) is the one subject token Choria's subjects give
/// it.
pub fn is_subject_token(name: &str) -> bool {
    !name.contains('.') && is_valid_identity(name)
}

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

/// The wildcards of a broker's permissions (`orchestrate broker-config`): every broadcast,
/// every reply, and every reply to one sender.
pub fn broadcast_subjects(collective: &str) -> String {
    format!("{collective}.broadcast.agent.>")
}

pub fn reply_subjects(collective: &str) -> String {
    format!("{collective}.reply.>")
}

pub fn replies_to(collective: &str, sender: &str) -> String {
    format!("{collective}.reply.{sender}.>")
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
    fn names_that_fit_in_subjects() {
        assert!(is_valid_identity("web1.example.net"));
        assert!(is_subject_token("mcollective"));
        assert!(!is_subject_token("a.b"));
        for bad in ["", "a b", "a..b", "a.*", ">", "we*b", "a."] {
            assert!(!is_valid_identity(bad), "{bad}");
            assert!(!is_subject_token(bad), "{bad}");
        }
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
