//! Policy files parsed and matched as go-choria reads them, facts and classes by the node
//! side's real filter code.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::agent::filter::CompiledFilter;
use crate::agent::NodeInfo;

fn node() -> NodeInfo {
    NodeInfo {
        identity: "web1.example.net".into(),
        collective: "mcollective".into(),
        facts: json!({"cluster": "bravo", "cpus": 8, "os": {"family": "Debian"}})
            .as_object()
            .unwrap()
            .clone(),
        classes: vec!["role::web".into(), "haproxy::member".into()],
        agents: vec!["puppet".into(), "rpcutil".into()],
    }
}

fn parse(text: &str) -> Result<PolicyFile<CompiledFilter>, PolicyError> {
    PolicyFile::parse(Path::new("/p/puppet.policy"), text)
}

fn decide(text: &str, caller: &str, action: &str) -> Decision {
    let file = parse(text).unwrap();
    let asking = Asking {
        caller,
        agent: "puppet",
        action,
    };
    file.decide(&asking, &node())
}

fn allows(text: &str, caller: &str, action: &str) -> bool {
    decide(text, caller, action).allowed()
}

const RIP: &str = "choria=rip.mcollective";

#[test]
fn the_default_decides_when_no_rule_matches_and_is_deny_unwritten() {
    assert!(allows("policy default allow\n", RIP, "status"));
    assert!(!allows("policy default deny\n", RIP, "status"));
    assert!(!allows("# nothing but a comment\n\n", RIP, "status"));
    let decision = decide("policy default deny\n", RIP, "status");
    assert_eq!(decision.reason, "denied by the default of /p/puppet.policy");
}

#[test]
fn callers_star_exact_and_regex() {
    let exact = "allow\tchoria=rip.mcollective choria=bob.mcollective\t*\t*\t*\n";
    assert!(allows(exact, RIP, "status"));
    assert!(allows(exact, "choria=bob.mcollective", "status"));
    assert!(!allows(exact, "choria=rip.mcollective.evil", "status"));
    let regex = "allow\t/^choria=deploy\\./\t*\t*\t*\n";
    assert!(allows(regex, "choria=deploy.ops.mcollective", "status"));
    assert!(!allows(regex, RIP, "status"));
    // Unanchored, as Choria matches them.
    assert!(allows("allow\t/rip/\t*\t*\t*\n", RIP, "status"));
    assert!(allows("allow\t*\t*\t*\t*\n", "choria=anyone", "status"));
}

#[test]
fn actions_star_or_names() {
    let names = "allow\t*\tstatus last_run_summary\t*\t*\n";
    assert!(allows(names, RIP, "status"));
    assert!(allows(names, RIP, "last_run_summary"));
    assert!(!allows(names, RIP, "disable"));
}

#[test]
fn facts_must_all_match_the_node() {
    assert!(allows("allow\t*\t*\tcluster=bravo\t*\n", RIP, "runonce"));
    assert!(allows(
        "allow\t*\t*\tcluster=bravo cpus>=4 os.family=Debian\t*\n",
        RIP,
        "x"
    ));
    assert!(!allows("allow\t*\t*\tcluster=bravo cpus>8\t*\n", RIP, "x"));
    assert!(!allows("allow\t*\t*\tcluster=alfa\t*\n", RIP, "x"));
    assert!(allows("allow\t*\t*\tcluster=~/^bra/\t*\n", RIP, "x"));
    assert!(!allows("allow\t*\t*\tdatacenter=x\t*\n", RIP, "x"));
}

#[test]
fn classes_must_all_be_present() {
    assert!(allows("allow\t*\t*\t*\trole::web\n", RIP, "x"));
    assert!(allows(
        "allow\t*\t*\t*\trole::web haproxy::member\n",
        RIP,
        "x"
    ));
    assert!(!allows("allow\t*\t*\t*\trole::web role::db\n", RIP, "x"));
    assert!(allows("allow\t*\t*\t*\t/^haproxy/\n", RIP, "x"));
    assert!(!allows("allow\t*\t*\tcluster=bravo\trole::db\n", RIP, "x"));
}

#[test]
fn the_first_matching_rule_wins() {
    let text = "policy default allow\n\
                deny\tchoria=rip.mcollective\tdisable\t*\t*\n\
                allow\t*\tdisable enable\t*\t*\n";
    let denied = decide(text, RIP, "disable");
    assert!(!denied.allowed());
    assert_eq!(
        denied.reason,
        "denied by the rule on line 2 of /p/puppet.policy"
    );
    let allowed = decide(text, "choria=bob.mcollective", "disable");
    assert_eq!(
        allowed.reason,
        "allowed by the rule on line 3 of /p/puppet.policy"
    );
    assert!(allows(text, RIP, "status"), "the default");
    let reversed = "allow\t*\t*\t*\t*\ndeny\t*\t*\t*\t*\n";
    assert!(allows(reversed, RIP, "disable"));
}

#[test]
fn runs_of_tabs_separate_fields_and_spaces_do_not() {
    assert!(allows("allow\t\t*\t\t\tstatus\t*\t*\n", RIP, "status"));
    let spaces = parse("allow * status * *\n").err().unwrap();
    assert_eq!(spaces.kind(), PolicyErrorKind::Invalid);
    assert!(matches!(
        spaces,
        PolicyError::Invalid {
            line: 1,
            problem: LineProblem::NotARule,
            ..
        }
    ));
    assert!(
        spaces.to_string().contains("/p/puppet.policy line 1"),
        "{spaces}"
    );
    assert!(allows(
        "policy default allow\r\nallow\t*\t*\t*\t*\r\n",
        RIP,
        "x"
    ));
}

#[test]
fn a_four_field_line_is_refused_naming_its_line() {
    let error = parse("policy default allow\n\nallow\t*\tstatus\t*\n")
        .err()
        .unwrap();
    match &error {
        PolicyError::Invalid { line, problem, .. } => {
            assert_eq!(*line, 3);
            assert!(matches!(problem, LineProblem::FieldCount { found: 4 }));
        }
        other => panic!("{other}"),
    }
    assert!(parse("allow\t*\t*\t*\t*\textra\n").is_err());
}

#[test]
fn bad_values_are_refused() {
    let problem = |text: &str| match parse(text) {
        Err(PolicyError::Invalid { problem, .. }) => problem,
        other => panic!("{text:?} parsed: {:?}", other.is_ok()),
    };
    assert!(matches!(
        problem("policy default maybe\n"),
        LineProblem::BadDefault { .. }
    ));
    assert!(matches!(
        problem("allow\t/(/\t*\t*\t*\n"),
        LineProblem::CallerRegex { .. }
    ));
    assert!(matches!(
        problem("allow\t*\t*\tcluster\t*\n"),
        LineProblem::Fact(_)
    ));
    assert!(matches!(
        problem("allow\t*\t*\t!cluster=x\t*\n"),
        LineProblem::Compound { .. }
    ));
    assert!(matches!(
        problem("allow\t*\t*\t*\tcluster=x\n"),
        LineProblem::FactAsClass { .. }
    ));
    assert!(matches!(
        problem("allow\t \t*\t*\t*\n"),
        LineProblem::EmptyField { field: "callers" }
    ));
    assert!(matches!(
        problem("permit\t*\t*\t*\t*\n"),
        LineProblem::NotARule
    ));
}

fn policies(dir: &Path) -> Policies<CompiledFilter> {
    Policies::with_recheck(dir, Duration::ZERO)
}

fn ask<'a>(agent: &'a str, action: &'a str) -> Asking<'a> {
    Asking {
        caller: RIP,
        agent,
        action,
    }
}

#[test]
fn the_agent_file_then_default_policy_then_deny() {
    let dir = tempfile::tempdir().unwrap();
    let folder = policies(dir.path());
    let missing = folder.decide(&ask("puppet", "status"), &node());
    assert!(!missing.allowed());
    assert!(
        missing.reason.contains("no policy for agent puppet"),
        "{}",
        missing.reason
    );
    std::fs::write(dir.path().join("default.policy"), "policy default allow\n").unwrap();
    let fallback = folder.decide(&ask("puppet", "status"), &node());
    assert!(fallback.allowed());
    assert!(
        fallback.reason.ends_with("default.policy"),
        "{}",
        fallback.reason
    );
    std::fs::write(dir.path().join("puppet.policy"), "policy default deny\n").unwrap();
    assert!(!folder.decide(&ask("puppet", "status"), &node()).allowed());
    assert!(folder.decide(&ask("rpcutil", "ping"), &node()).allowed());
}

#[test]
fn an_edited_policy_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("puppet.policy");
    std::fs::write(&path, "policy default deny\n").unwrap();
    let folder = policies(dir.path());
    assert!(!folder.decide(&ask("puppet", "status"), &node()).allowed());
    std::fs::write(&path, "policy default allow\nallow\t*\t*\t*\t*\n").unwrap();
    assert!(folder.decide(&ask("puppet", "status"), &node()).allowed());
    std::fs::write(&path, "allow * * * *\n").unwrap();
    let broken = folder.decide(&ask("puppet", "status"), &node());
    assert!(!broken.allowed());
    assert!(
        broken.reason.contains("puppet.policy line 1"),
        "{}",
        broken.reason
    );
}

#[test]
fn a_cached_lookup_is_reused_until_the_recheck() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("default.policy"), "policy default allow\n").unwrap();
    let folder: Policies<CompiledFilter> =
        Policies::with_recheck(dir.path(), Duration::from_secs(3600));
    assert!(folder.decide(&ask("puppet", "status"), &node()).allowed());
    std::fs::remove_file(dir.path().join("default.policy")).unwrap();
    assert!(
        folder.decide(&ask("puppet", "status"), &node()).allowed(),
        "cached"
    );
    assert!(
        !folder.decide(&ask("rpcutil", "ping"), &node()).allowed(),
        "not cached"
    );
}

#[test]
fn agent_names_that_reach_outside_the_folder_are_denied() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("policies");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(dir.path().join("evil.policy"), "policy default allow\n").unwrap();
    let folder = policies(&inner);
    let decision = folder.decide(&ask("../evil", "x"), &node());
    assert!(!decision.allowed());
    assert!(
        decision.reason.contains("not an agent name"),
        "{}",
        decision.reason
    );
}
