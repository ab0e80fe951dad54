//! External agents: a program per agent in the agents folder, with a metadata file beside it
//! naming its actions and inputs (see [`metadata`]). For each request the program gets the
//! request as JSON on stdin and writes its reply as JSON on stdout. The format, with an
//! example, is in docs/agent.md.
//!
//! ```text
//! stdin:  {"protocol":"orchestrate:external:request:1","agent":"appmgr","action":"upgrade",
//!          "data":{"revision":20},"requestid":"…","callerid":"choria=rip.mcollective",
//!          "senderid":"orch1","collective":"mcollective","identity":"web1","ttl":60,
//!          "time":1795308284,"timeout":60}
//! stdout: {"statuscode":0,"statusmsg":"OK","data":{"status":"upgraded to revision 20"}}
//! ```

pub mod metadata;
mod process;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{Agent, NodeInfo};
use crate::protocol::{statuscode, Request, RpcReplyBody};
use crate::transport::BoxFuture;

pub use metadata::{AgentMetadata, MetadataError};
use process::Outcome;

/// The protocol name on every request a program receives.
pub const REQUEST_PROTOCOL: &str = "orchestrate:external:request:1";

/// The names the daemon's own agents take; a program cannot replace them.
const BUILT_IN: [&str; 3] = ["rpcutil", "discovery", "puppet"];

/// One agent served by a program.
pub struct ExternalAgent {
    name: String,
    program: PathBuf,
    metadata: AgentMetadata,
    timeout: Duration,
}

/// What a program writes on stdout. `statuscode` and `statusmsg` may be left out for success.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramReply {
    #[serde(default)]
    statuscode: u8,
    statusmsg: Option<String>,
    #[serde(default)]
    data: Value,
}

impl ExternalAgent {
    pub fn new(
        name: &str,
        program: PathBuf,
        metadata: AgentMetadata,
        default_timeout: Duration,
    ) -> ExternalAgent {
        ExternalAgent {
            name: name.to_string(),
            program,
            timeout: metadata.timeout.unwrap_or(default_timeout),
            metadata,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long an action may run before its program is killed.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    pub fn metadata(&self) -> &AgentMetadata {
        &self.metadata
    }

    async fn answer(&self, node: &NodeInfo, request: &Request) -> RpcReplyBody {
        if let Err(refusal) = self
            .metadata
            .check(&self.name, &request.action, &request.data)
        {
            return refusal;
        }
        let input = json!({
            "protocol": REQUEST_PROTOCOL,
            "agent": self.name,
            "action": request.action,
            "data": match &request.data { Value::Null => json!({}), data => data.clone() },
            "requestid": request.id,
            "callerid": request.caller,
            "senderid": request.sender,
            "collective": request.collective,
            "identity": node.identity,
            "ttl": request.ttl,
            "time": request.time,
            "timeout": self.timeout.as_secs_f64(),
        });
        let action = format!("{}#{}", self.name, request.action);
        match process::run(&self.program, input.to_string().into_bytes(), self.timeout).await {
            Outcome::Exited {
                code: Some(0),
                stdout,
                stderr,
            } => {
                log_stderr(&action, &stderr);
                read_reply(&action, &stdout)
            }
            Outcome::Exited { code, stderr, .. } => {
                log_stderr(&action, &stderr);
                let how = match code {
                    Some(code) => format!("exited with code {code}"),
                    None => "was killed by a signal".to_string(),
                };
                let said = last_line(&stderr);
                RpcReplyBody::fail(
                    statuscode::UNKNOWN_ERROR,
                    if said.is_empty() {
                        format!("{action} {how}")
                    } else {
                        format!("{action} {how}: {said}")
                    },
                )
            }
            Outcome::TimedOut => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!(
                    "{action} did not finish within {} s and was killed",
                    self.timeout.as_secs_f64()
                ),
            ),
            Outcome::NotStarted(error) => RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!(
                    "{action} could not start {}: {error}",
                    self.program.display()
                ),
            ),
        }
    }
}

/// The program's stdout as a reply; anything else is statuscode 5 saying what was wrong.
fn read_reply(action: &str, stdout: &[u8]) -> RpcReplyBody {
    if stdout.len() as u64 > process::MAX_STDOUT {
        return RpcReplyBody::fail(
            statuscode::UNKNOWN_ERROR,
            format!("{action} wrote more than {} bytes", process::MAX_STDOUT),
        );
    }
    let reply: ProgramReply = match serde_json::from_slice(stdout) {
        Ok(reply) => reply,
        Err(error) => {
            return RpcReplyBody::fail(
                statuscode::UNKNOWN_ERROR,
                format!("{action} did not write a JSON reply on stdout: {error}"),
            )
        }
    };
    if reply.statuscode > statuscode::UNKNOWN_ERROR {
        return RpcReplyBody::fail(
            statuscode::UNKNOWN_ERROR,
            format!(
                "{action} replied statuscode {}, which is not 0 to 5",
                reply.statuscode
            ),
        );
    }
    RpcReplyBody {
        statuscode: reply.statuscode,
        statusmsg: reply
            .statusmsg
            .unwrap_or_else(|| statuscode::describe(reply.statuscode).to_string()),
        data: match reply.data {
            Value::Null => json!({}),
            data => data,
        },
    }
}

fn last_line(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn log_stderr(action: &str, stderr: &[u8]) {
    if !stderr.is_empty() {
        tracing::info!(%action, stderr = %String::from_utf8_lossy(stderr).trim_end(), "external agent wrote on stderr");
    }
}

impl Agent for ExternalAgent {
    fn version(&self) -> Option<String> {
        self.metadata.version.clone()
    }

    fn handle<'a>(
        &'a self,
        node: &'a NodeInfo,
        request: &'a Request,
    ) -> BoxFuture<'a, RpcReplyBody> {
        Box::pin(self.answer(node, request))
    }

    fn sensitive_inputs(&self, action: &str) -> Vec<String> {
        self.metadata.sensitive_inputs(action)
    }
}

/// Why the agents folder, or one agent in it, cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the agents folder {}: {source}", dir.display())]
    Folder {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{name:?} is not an agent name (a-z, 0-9, _)")]
    NotAnAgentName { name: String },
    #[error("{name} is a built-in agent")]
    BuiltIn { name: String },
    #[error("no program {}: {source}", program.display())]
    NoProgram {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not executable", program.display())]
    NotExecutable { program: PathBuf },
    #[error("{source}")]
    ReadMetadata {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

/// Every external agent of `dir`: each metadata file `<name>.yaml`, `.yml` or `.json` with an
/// executable `<name>` beside it. What cannot be used (no program, a bad metadata file, a
/// built-in agent's name) is logged and left out; the daemon runs without it.
pub fn load_agents(dir: &Path, default_timeout: Duration) -> Result<Vec<ExternalAgent>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Folder {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    let mut agents: Vec<ExternalAgent> = Vec::new();
    for path in paths {
        let is_metadata = path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml" || ext == "json");
        let Some(name) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        if !is_metadata {
            continue;
        }
        match load_agent(dir, name, &path, default_timeout) {
            Ok(agent) if agents.iter().any(|known| known.name == agent.name) => {
                tracing::warn!(agent = name, path = %path.display(), "a second metadata file for the agent; ignoring it");
            }
            Ok(agent) => agents.push(agent),
            Err(error) => {
                tracing::warn!(agent = name, path = %path.display(), %error, "not loading the external agent")
            }
        }
    }
    Ok(agents)
}

fn load_agent(
    dir: &Path,
    name: &str,
    metadata_path: &Path,
    default_timeout: Duration,
) -> Result<ExternalAgent, LoadError> {
    let name_owned = || name.to_string();
    if !metadata::valid_name(name) {
        return Err(LoadError::NotAnAgentName { name: name_owned() });
    }
    if BUILT_IN.contains(&name) {
        return Err(LoadError::BuiltIn { name: name_owned() });
    }
    let program = dir.join(name);
    let mode = match std::fs::metadata(&program) {
        Ok(found) => found.permissions().mode(),
        Err(source) => return Err(LoadError::NoProgram { program, source }),
    };
    if mode & 0o111 == 0 {
        return Err(LoadError::NotExecutable { program });
    }
    let text =
        std::fs::read_to_string(metadata_path).map_err(|source| LoadError::ReadMetadata {
            path: metadata_path.to_path_buf(),
            source,
        })?;
    let metadata = AgentMetadata::parse(&text)?;
    Ok(ExternalAgent::new(name, program, metadata, default_timeout))
}

#[cfg(test)]
mod tests;
