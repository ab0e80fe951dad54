//! A real `nats-server` for a test: started on a free loopback port, waited for until it
//! accepts connections, stopped when dropped. scripts/test installs Debian's `nats-server`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    /// A configuration file (TLS, authorization) the server is started with, again on
    /// restart.
    config: Option<PathBuf>,
    /// The folder of a configuration written here ([`NatsServer::start_tls`]).
    _config_dir: Option<tempfile::TempDir>,
    /// With JetStream on (`-js`, [`NatsServer::start_jetstream`]): its store folder.
    jetstream: Option<tempfile::TempDir>,
}

impl NatsServer {
    /// A server on a port of 127.0.0.1 that the server picks itself and writes to its ports
    /// file: no other test or process can take it between being picked and being bound.
    pub fn start() -> NatsServer {
        NatsServer::start_configured(None)
    }

    /// [`NatsServer::start`] with the configuration file `config` (`tls {...}`,
    /// `authorization {...}`); the command line's address and port win over the file's.
    pub fn start_with_config(config: &Path) -> NatsServer {
        NatsServer::start_configured(Some(config.to_path_buf()))
    }

    /// A server requiring mutual TLS, as docs/nats.md shows it (`tls { verify: true }`): its
    /// certificate and key, and the CA a client's certificate must be signed by.
    pub fn start_tls(ca: &Path, cert: &Path, key: &Path) -> NatsServer {
        let dir = tempfile::tempdir().expect("a folder for the configuration");
        let config = dir.path().join("nats-server.conf");
        let text = format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n  timeout: 5\n}}\n",
            cert.display(),
            key.display(),
            ca.display()
        );
        std::fs::write(&config, text).expect("the configuration is written");
        let mut server = NatsServer::start_configured(Some(config));
        server._config_dir = Some(dir);
        server
    }

    /// [`NatsServer::start`] with JetStream on (the node registry), its store in a folder of
    /// its own.
    pub fn start_jetstream() -> NatsServer {
        let store = tempfile::tempdir().expect("a folder for JetStream");
        NatsServer::start_with(None, Some(store))
    }

    fn start_configured(config: Option<PathBuf>) -> NatsServer {
        NatsServer::start_with(config, None)
    }

    fn start_with(config: Option<PathBuf>, jetstream: Option<tempfile::TempDir>) -> NatsServer {
        let ports = tempfile::tempdir().expect("a folder for the ports file");
        let mut server = NatsServer {
            child: None,
            port: 0,
            config,
            _config_dir: None,
            jetstream,
        };
        let dir = ports
            .path()
            .to_str()
            .expect("a UTF-8 temp path")
            .to_string();
        server.spawn(&["-p", "-1", "--ports_file_dir", &dir]);
        server.port = server.read_port(ports.path());
        server.wait_until_ready();
        server
    }

    /// A server on `port` (to bring one back where clients look for it).
    pub fn start_on(port: u16) -> NatsServer {
        let mut server = NatsServer {
            child: None,
            port,
            config: None,
            _config_dir: None,
            jetstream: None,
        };
        server.launch();
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `tls://127.0.0.1:<port>`: the same server, TLS required by the URL.
    pub fn tls_url(&self) -> String {
        format!("tls://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (connected clients see the connection drop) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server and starts a new one on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn launch(&mut self) {
        let port = self.port.to_string();
        self.spawn(&["-p", &port]);
        self.wait_until_ready();
    }

    fn spawn(&mut self, args: &[&str]) {
        let config = self
            .config
            .iter()
            .flat_map(|path| [Path::new("-c"), path.as_path()]);
        let jetstream = self
            .jetstream
            .iter()
            .flat_map(|store| [Path::new("-js"), Path::new("-sd"), store.path()]);
        let child = Command::new("nats-server")
            .args(config)
            .args(jetstream)
            .args(["-a", "127.0.0.1"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start nats-server ({error}): scripts/test installs it (apt-get install nats-server)")
            });
        self.child = Some(child);
    }

    /// The client port from `<dir>/nats-server_<pid>.ports` (`{"nats": ["nats://127.0.0.1:N"]}`).
    fn read_port(&mut self, dir: &Path) -> u16 {
        let started = Instant::now();
        loop {
            self.panic_if_exited();
            let text = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .find_map(|entry| std::fs::read_to_string(entry.path()).ok());
            let port = text
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|ports| ports["nats"][0].as_str().map(str::to_string))
                .and_then(|url| url.rsplit(':').next()?.parse().ok());
            if let Some(port) = port {
                return port;
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "nats-server wrote no ports file within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_until_ready(&mut self) {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_err() {
            self.panic_if_exited();
            assert!(
                started.elapsed() < START_TIMEOUT,
                "nats-server did not accept connections on port {} within {START_TIMEOUT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn panic_if_exited(&mut self) {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            panic!(
                "nats-server exited at start ({status}); is port {} taken?",
                self.port
            );
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nobody listens on (the OS's pick, released for the caller).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}
