//! The environment every run of the binary gets: the variables it reads, listed once here,
//! so a developer's own broker, configuration, repository or log level never reaches a test.
//!
//! Left as they are, on purpose: `PATH` and `HOME` (Puppet and the external agents the binary
//! runs need them; see `XDG_CONFIG_HOME` for HOME), `LANG` and `TERM` (Puppet and Python need
//! the locale; indicatif and console read them only when stderr is a terminal, which it never
//! is here), and `RUST_BACKTRACE` (std reads it only on a panic, whose backtrace a failing
//! test should show).

/// Removed from every run. Each is read by the binary (or by what it runs) where the comment
/// says; a new `env::var` or `env = "..."` in src/ belongs here too.
pub const CLEARED: &[&str] = &[
    // src/config.rs (`locate`): the configuration file, first after `--config`.
    "ORCHESTRATE_CONFIG",
    // src/cli/broker.rs (`BrokerArgs::load`): a broker here would replace the embedded fleet.
    "NATS_URL",
    // src/cli/setup.rs: clap's `env =` of `--repo` and `--fleet`.
    "ORCHESTRATE_REPO",
    "ORCHESTRATE_FLEET",
    // src/cli/site.rs: clap's `env =` of `--environmentpath`.
    "ORCHESTRATE_ENVIRONMENTPATH",
    // src/cli/logging.rs: `EnvFilter::try_from_default_env` sets the log level on stderr.
    "RUST_LOG",
    // src/main.rs, src/cli/check.rs, src/cli/logging.rs: colour is off anyway, stderr being a
    // pipe; without NO_COLOR the tests show that the pipe alone turns it off.
    "NO_COLOR",
    // src/rpc/options.rs, src/agent/config.rs (`host_name`): after /proc/sys/kernel/hostname.
    "HOSTNAME",
    // src/site/run/progress.rs (`now`): chrono's `Local` reads the time zone; the stamps are
    // normalised, so only the zone's rules could still differ.
    "TZ",
    // src/site/source/puppetserver.rs: ureq's default configuration takes its proxy from these.
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    // playbooks/agent/agents/appmgr and nrpe, the external agents `orchestrate agent` runs
    // (they inherit its environment): a test that needs one sets it.
    "APPMGR_STATE_DIR",
    "APPMGR_UPGRADE_SECONDS",
    "NRPE_LOAD_LIMIT",
];

/// Set to a fixed value on every run (a test may set another), because removing them would
/// not make the run independent of the machine.
pub const PINNED: &[(&str, &str)] = &[
    // src/cli/setup.rs: clap's `env =` of `--user`, the `$id` of playbooks and the caller of
    // every request, so it lands in the outputs.
    ("USER", "rip"),
    // src/config.rs (`locate`): the user's configuration file is
    // `$XDG_CONFIG_HOME/orchestrate/config.yaml`, else `$HOME/.config/orchestrate/config.yaml`.
    // A folder that does not exist keeps both out. HOME itself stays: Puppet, which the agent
    // tests run, needs it, and with XDG_CONFIG_HOME set the binary never reads it.
    ("XDG_CONFIG_HOME", "/nonexistent"),
    // src/registry/checked.rs, src/security/kept_checks.rs: the checks a client keeps between
    // processes go to `$XDG_CACHE_HOME/orchestrate`, else `~/.cache/orchestrate`; the tests'
    // own folder keeps them out of the user's (each test's CA names its own files).
    ("XDG_CACHE_HOME", "/tmp/orchestrate-test-cache"),
];
