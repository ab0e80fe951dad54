//! `$facts` of the orchestrating host: the facts plans read about the machine they run on,
//! with facter's names and shapes (`os`, `networking`, `identity`, `kernel`, ...), plus
//! `choria.playbook`, the running plan's name, as Choria sets it. Read from the kernel's and
//! the distribution's files, not by running facter: a plan must not wait on it, and the host
//! need not have Puppet.

use std::fs;

use super::value::{HashMap as ValueMap, Value};

/// The facts of this host, for the playbook or plan `playbook`.
pub fn host_facts(playbook: &str) -> Value {
    let host = Host::read();
    let mut facts = ValueMap::new();
    put(&mut facts, "os", host.os());
    put(&mut facts, "kernel", text(&host.kernel));
    put(&mut facts, "kernelrelease", text(&host.kernel_release));
    put(&mut facts, "kernelversion", text(host.kernel_version()));
    put(
        &mut facts,
        "kernelmajversion",
        text(host.kernel_major_version()),
    );
    put(&mut facts, "architecture", text(&host.architecture));
    put(&mut facts, "hardwaremodel", text(&host.hardware));
    put(&mut facts, "hostname", text(&host.hostname));
    put(&mut facts, "fqdn", text(host.fqdn()));
    if let Some(domain) = &host.domain {
        put(&mut facts, "domain", text(domain));
    }
    put(&mut facts, "networking", host.networking());
    put(&mut facts, "identity", host.identity());
    put(&mut facts, "processors", processors());
    put(&mut facts, "choria", hash([("playbook", text(playbook))]));
    Value::Hash(facts)
}

/// This host's `networking.fqdn`, which `fqdn_rand()` is seeded by as Puppet's is.
pub fn fqdn() -> String {
    let (short, domain) = split_hostname(&read_trimmed("/proc/sys/kernel/hostname"));
    qualified(&short, domain.or_else(resolver_domain).as_deref())
}

/// What the facts are made of, read once.
struct Host {
    os_release: Vec<(String, String)>,
    os_version: Option<String>,
    kernel: String,
    kernel_release: String,
    architecture: String,
    hardware: String,
    hostname: String,
    domain: Option<String>,
    uid: u32,
    gid: u32,
}

impl Host {
    fn read() -> Host {
        let hardware = std::env::consts::ARCH.to_string();
        let (short, domain) = split_hostname(&read_trimmed("/proc/sys/kernel/hostname"));
        let (uid, gid) = ids();
        Host {
            os_release: os_release(),
            os_version: fs::read_to_string("/etc/debian_version")
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| v.starts_with(|c: char| c.is_ascii_digit())),
            kernel: capitalized(std::env::consts::OS),
            kernel_release: read_trimmed("/proc/sys/kernel/osrelease"),
            architecture: package_architecture(&hardware).to_string(),
            hardware,
            hostname: short,
            domain: domain.or_else(resolver_domain),
            uid,
            gid,
        }
    }

    fn release_field(&self, key: &str) -> Option<&str> {
        self.os_release
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `os`: facter's name for the distribution is os-release's NAME without its suffix
    /// ("Debian GNU/Linux" is "Debian"), its family the first of ID_LIKE (or the ID itself).
    fn os(&self) -> Value {
        let id = self.release_field("ID").unwrap_or("");
        let name = self
            .release_field("NAME")
            .and_then(|n| n.split_whitespace().next())
            .map(str::to_string)
            .unwrap_or_else(|| capitalized(id));
        let family = self
            .release_field("ID_LIKE")
            .and_then(|like| like.split_whitespace().next())
            .unwrap_or(id);
        let full = self
            .os_version
            .clone()
            .or_else(|| self.release_field("VERSION_ID").map(str::to_string))
            .unwrap_or_default();
        let release = release(&full);
        let mut distro = vec![("id", text(&name)), ("release", release.clone())];
        if let Some(codename) = self.release_field("VERSION_CODENAME") {
            distro.push(("codename", text(codename)));
        }
        if let Some(description) = self.release_field("PRETTY_NAME") {
            distro.push(("description", text(description)));
        }
        hash([
            ("architecture", text(&self.architecture)),
            ("distro", hash(distro)),
            ("family", text(capitalized(family))),
            ("hardware", text(&self.hardware)),
            ("name", text(&name)),
            ("release", release),
        ])
    }

    fn fqdn(&self) -> String {
        qualified(&self.hostname, self.domain.as_deref())
    }

    fn kernel_version(&self) -> &str {
        self.kernel_release.split(['-', '+']).next().unwrap_or("")
    }

    fn kernel_major_version(&self) -> String {
        self.kernel_version()
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }

    fn networking(&self) -> Value {
        let mut networking = vec![
            ("fqdn", text(self.fqdn())),
            ("hostname", text(&self.hostname)),
        ];
        if let Some(domain) = &self.domain {
            networking.push(("domain", text(domain)));
        }
        hash(networking)
    }

    fn identity(&self) -> Value {
        let user = account_name("/etc/passwd", self.uid).unwrap_or_else(|| self.uid.to_string());
        let group = account_name("/etc/group", self.gid).unwrap_or_else(|| self.gid.to_string());
        hash([
            ("gid", Value::Integer(self.gid.into())),
            ("group", text(group)),
            ("privileged", Value::Bool(self.uid == 0)),
            ("uid", Value::Integer(self.uid.into())),
            ("user", text(user)),
        ])
    }
}

/// `release`: full, major and (when there is one) minor, as facter splits a version.
fn release(full: &str) -> Value {
    let mut parts = full.split('.');
    let mut release = vec![("full", text(full))];
    if let Some(major) = parts.next() {
        release.push(("major", text(major)));
    }
    if let Some(minor) = parts.next() {
        release.push(("minor", text(minor)));
    }
    hash(release)
}

fn processors() -> Value {
    let count = std::thread::available_parallelism().map_or(1, |n| n.get());
    hash([("count", Value::Integer(count as i64))])
}

/// The host's name with its domain, when it has one.
fn qualified(short: &str, domain: Option<&str>) -> String {
    match domain {
        Some(domain) => format!("{short}.{domain}"),
        None => short.to_string(),
    }
}

/// The short name and, when the kernel's hostname is qualified, its domain.
fn split_hostname(name: &str) -> (String, Option<String>) {
    let name = if name.is_empty() { "localhost" } else { name };
    match name.split_once('.') {
        Some((short, domain)) if !domain.is_empty() => {
            (short.to_string(), Some(domain.to_string()))
        }
        _ => (name.to_string(), None),
    }
}

/// The resolver's domain (`domain`, else the first `search` entry), as facter falls back to.
fn resolver_domain() -> Option<String> {
    let conf = fs::read_to_string("/etc/resolv.conf").ok()?;
    let entry = |key: &str| {
        conf.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(key))
                .then(|| words.next().map(str::to_string))
                .flatten()
        })
    };
    entry("domain").or_else(|| entry("search"))
}

/// `/etc/os-release` (or `/usr/lib/os-release`) as key, unquoted value pairs.
fn os_release() -> Vec<(String, String)> {
    let text = fs::read_to_string("/etc/os-release")
        .or_else(|_| fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// The real uid and gid of this process, from the kernel's status file.
fn ids() -> (u32, u32) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let first = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    };
    (first("Uid:"), first("Gid:"))
}

/// The name of account `id` in a passwd-format file.
fn account_name(file: &str, id: u32) -> Option<String> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let found = fields.nth(1)?.parse::<u32>().ok()? == id;
        found.then(|| name.to_string())
    })
}

/// Debian's name for the machine's architecture, which facter reports as `architecture`.
fn package_architecture(hardware: &str) -> &str {
    match hardware {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "powerpc64" => "ppc64el",
        other => other,
    }
}

fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

fn put(map: &mut ValueMap, key: &str, value: Value) {
    map.insert(Value::String(key.into()), value);
}

fn hash<'k>(entries: impl IntoIterator<Item = (&'k str, Value)>) -> Value {
    let mut map = ValueMap::new();
    for (key, value) in entries {
        put(&mut map, key, value);
    }
    Value::Hash(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'v>(value: &'v Value, path: &[&str]) -> &'v Value {
        path.iter().fold(value, |v, key| match v {
            Value::Hash(map) => map
                .get(&Value::String((*key).into()))
                .unwrap_or(&Value::Undef),
            _ => &Value::Undef,
        })
    }

    #[test]
    fn the_facts_plans_read_are_there() {
        let facts = host_facts("mymod::deploy");
        assert_eq!(at(&facts, &["choria", "playbook"]), &text("mymod::deploy"));
        for path in [
            &["os", "name"][..],
            &["os", "family"],
            &["os", "release", "major"],
            &["networking", "fqdn"],
            &["hostname"],
            &["identity", "user"],
            &["kernel"],
        ] {
            assert!(
                matches!(at(&facts, path), Value::String(s) if !s.is_empty()),
                "{path:?} is {:?}",
                at(&facts, path)
            );
        }
        assert_eq!(
            at(&facts, &["kernel"]),
            &text(capitalized(std::env::consts::OS))
        );
    }

    /// Where facter is installed, the facts that do not depend on how a name resolves
    /// agree with it.
    #[test]
    fn agree_with_facter_where_it_is_installed() {
        let Ok(out) = std::process::Command::new("facter")
            .args([
                "--json",
                "os.name",
                "os.family",
                "os.release.full",
                "kernel",
                "hostname",
            ])
            .args([
                "identity.user",
                "identity.uid",
                "architecture",
                "kernelrelease",
            ])
            .output()
        else {
            return;
        };
        let Ok(facter) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
            return;
        };
        let ours = host_facts("x");
        let path_of = |name: &str| name.split('.').map(str::to_string).collect::<Vec<_>>();
        for (name, want) in facter.as_object().into_iter().flatten() {
            let path = path_of(name);
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let got = match at(&ours, &path) {
                Value::String(s) => serde_json::Value::String(s.clone()),
                Value::Integer(i) => serde_json::Value::from(*i),
                other => serde_json::Value::String(format!("{other:?}")),
            };
            assert_eq!(&got, want, "fact {name}");
        }
    }

    #[test]
    fn qualified_hostnames_are_split() {
        assert_eq!(
            split_hostname("web1.example.com"),
            ("web1".into(), Some("example.com".into()))
        );
        assert_eq!(split_hostname("vm"), ("vm".into(), None));
    }
}
