//! The NATS transport, on async-nats: one connection to one of the configured servers, which
//! async-nats re-establishes (with every subscription) when it is lost. Connection events are
//! logged; messages published while the connection is down wait in the client and go out
//! once it is back. With [`TlsFiles`] the connection is mutual TLS (transport/tls.rs).

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;

use super::subject::{validate_publish_subject, validate_subscribe_subject};
use super::tls::{self, TlsFiles};
use super::{
    BoxFuture, Link, LinkWatch, Subscription, Transport, TransportError, TransportErrorKind,
};

/// How long connecting to the servers may take before giving up, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages a subscription may hold before the client drops further ones as a slow consumer.
/// The replies to one request all land in one subscription: 50,000 nodes answering at once
/// must fit. The channel allocates as it fills, so the bound costs nothing until used.
const SUBSCRIPTION_CAPACITY: usize = 1 << 20;

/// Commands (publishes, subscribes) queued towards the connection before `publish` waits:
/// a fan-out of thousands of direct requests is queued at once rather than in steps of
/// async-nats' default 2,048.
const CLIENT_CAPACITY: usize = 1 << 16;

/// The longest pause between reconnection attempts: async-nats backs off up to 4 s; a
/// broker back after a restart is found within a second here.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Where the broker is and how to log in.
#[derive(Clone, Debug, PartialEq)]
pub struct NatsOptions {
    /// `nats://host:port` URLs (or `host:port`); the client connects to one, then fails over.
    pub servers: Vec<String>,
    pub auth: NatsAuth,
    /// Bounds the whole initial connection (every server tried) as well as each attempt.
    pub connect_timeout: Duration,
    /// The connection's name as the broker shows it (`nats-server` monitoring, logs).
    pub name: String,
    /// Mutual TLS with these files; None: TLS only when a `tls://` URL or the broker asks,
    /// checked against the system's roots, with no certificate of ours.
    pub tls: Option<TlsFiles>,
    /// Where this connection's private inboxes live (`_INBOX` when None). A node gives its
    /// own (`_INBOX.<identity>`), so a broker can allow each party only its own inboxes.
    pub inbox_prefix: Option<String>,
}

/// How the client authenticates to the broker.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum NatsAuth {
    #[default]
    None,
    UserPassword {
        user: String,
        password: String,
    },
    Token(String),
    /// A NATS credentials file (a user JWT and its NKey seed, as `nsc` writes them).
    Credentials(PathBuf),
}

impl NatsOptions {
    pub fn new(servers: Vec<String>) -> NatsOptions {
        NatsOptions {
            servers,
            auth: NatsAuth::None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            name: "orchestrate".to_string(),
            tls: None,
            inbox_prefix: None,
        }
    }

    /// The servers as one line, for messages: `nats://a:4222, nats://b:4222`.
    pub fn describe(&self) -> String {
        self.servers.join(", ")
    }
}

/// A connection to a NATS broker. Clones share the connection.
#[derive(Clone, Debug)]
pub struct Nats {
    client: async_nats::Client,
    /// Up or down, from the client's connection events.
    link: Link,
    /// The servers, for messages.
    servers: String,
}

impl Nats {
    /// Connects to one of `options.servers`; fails (rather than retrying for ever) when none
    /// answers within the connect timeout. Later losses of the connection are repaired in the
    /// background.
    pub async fn connect(options: &NatsOptions) -> Result<Nats, TransportError> {
        let servers = parse_servers(&options.servers)?;
        let described = options.describe();
        // Read and checked before any server is tried: a missing file is named at once.
        let tls_config = options
            .tls
            .as_ref()
            .map(TlsFiles::client_config)
            .transpose()?;
        let mut connect = match &options.auth {
            NatsAuth::None => async_nats::ConnectOptions::new(),
            NatsAuth::UserPassword { user, password } => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            NatsAuth::Token(token) => async_nats::ConnectOptions::with_token(token.clone()),
            NatsAuth::Credentials(path) => async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|error| {
                    let message =
                        format!("cannot read NATS credentials {}: {error}", path.display());
                    TransportError::caused_by(TransportErrorKind::Other, message, error)
                })?,
        };
        if let Some(config) = tls_config {
            connect = connect.require_tls(true).tls_client_config(config);
        }
        if let Some(prefix) = &options.inbox_prefix {
            connect = connect.custom_inbox_prefix(prefix);
        }
        let link = Link::up();
        let events = link.clone();
        connect = connect
            .name(&options.name)
            .connection_timeout(options.connect_timeout)
            .subscription_capacity(SUBSCRIPTION_CAPACITY)
            .client_capacity(CLIENT_CAPACITY)
            .reconnect_delay_callback(reconnect_delay)
            .event_callback(move |event| {
                let link = events.clone();
                async move { on_event(event, &link) }
            });
        // async-nats gives up after one round over the servers; the outer bound covers a
        // server that accepts TCP but never speaks NATS, with several servers listed.
        let budget = options.connect_timeout * (servers.len() as u32 + 1);
        let client = match tokio::time::timeout(budget, connect.connect(servers)).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => return Err(connect_failure(options, &described, error)),
            Err(_) => {
                return Err(TransportError::new(
                    TransportErrorKind::NotConnected,
                    format!(
                        "cannot connect to NATS at {described}: no answer within {} s",
                        budget.as_secs()
                    ),
                ))
            }
        };
        tracing::info!(servers = %described, "connected to NATS");
        Ok(Nats {
            client,
            link,
            servers: described,
        })
    }

    /// Waits until the broker has processed everything this connection sent before (a
    /// message to a private inbox comes back): after it, subscriptions made earlier receive
    /// what any other client publishes. Fails after `timeout`.
    pub async fn round_trip(&self, timeout: Duration) -> Result<(), TransportError> {
        let inbox = self.client.new_inbox();
        let mut echo = self.subscribe(inbox.clone()).await?;
        self.publish(inbox, None, Bytes::new()).await?;
        match tokio::time::timeout(timeout, echo.next()).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(not_connected("the connection closed")),
            Err(_) => Err(not_connected(&format!(
                "the broker did not answer within {} s",
                timeout.as_secs_f64()
            ))),
        }
    }
}

/// A failed connection in words: the TLS file or certificate to look at when TLS is the
/// cause (kind `Tls`), else the broker that cannot be reached (`NotConnected`).
fn connect_failure(
    options: &NatsOptions,
    described: &str,
    error: async_nats::ConnectError,
) -> TransportError {
    let explained = match &options.tls {
        Some(files) => files.explain(&error, described),
        None => tls::explain_without_files(&error, described),
    };
    match explained {
        Some(message) => TransportError::caused_by(TransportErrorKind::Tls, message, error),
        None => {
            let message = format!("cannot connect to NATS at {described}: {error}");
            TransportError::caused_by(TransportErrorKind::NotConnected, message, error)
        }
    }
}

fn parse_servers(servers: &[String]) -> Result<Vec<async_nats::ServerAddr>, TransportError> {
    if servers.is_empty() {
        return Err(TransportError::new(
            TransportErrorKind::Other,
            "no NATS server given",
        ));
    }
    servers
        .iter()
        .map(|server| {
            server.parse().map_err(|error| {
                let message = format!("{server:?} is not a NATS server address: {error}");
                TransportError::caused_by(TransportErrorKind::Other, message, error)
            })
        })
        .collect()
}

fn reconnect_delay(attempts: usize) -> Duration {
    // 0 for the first attempt, then 10 ms doubling, capped.
    match attempts {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(10u64.saturating_mul(1 << (n - 1).min(16)))
            .min(MAX_RECONNECT_DELAY),
    }
}

/// Keeps `link` up to date and logs what a user should know: the connection lost and
/// regained, slow consumers, server errors. Failed reconnection attempts repeat while the
/// broker is away: debug only.
fn on_event(event: async_nats::Event, link: &Link) {
    match event {
        async_nats::Event::Connected => {
            if link.regained() {
                tracing::warn!("NATS: reconnected to the broker");
            } else {
                tracing::info!("NATS: connected");
            }
        }
        async_nats::Event::Disconnected => {
            link.lost();
            tracing::warn!("NATS: disconnected from the broker; reconnecting")
        }
        // The client closes it on exit; nothing to tell.
        async_nats::Event::Closed => tracing::debug!("NATS: connection closed"),
        async_nats::Event::ClientError(error) => tracing::debug!("NATS: {error}"),
        async_nats::Event::SlowConsumer(sid) => tracing::warn!(
            subscription = sid,
            "NATS: slow consumer, messages of a subscription dropped"
        ),
        other => tracing::warn!("NATS: {other}"),
    }
}

fn not_connected(message: &str) -> TransportError {
    TransportError::new(TransportErrorKind::NotConnected, message)
}

/// A client error meaning the connection is gone, kept as the source.
fn lost(error: impl std::error::Error + Send + Sync + 'static) -> TransportError {
    TransportError::caused_by(TransportErrorKind::NotConnected, error.to_string(), error)
}

impl Transport for Nats {
    fn jetstream(&self) -> Option<async_nats::jetstream::Context> {
        Some(async_nats::jetstream::new(self.client.clone()))
    }

    fn publish(
        &self,
        subject: String,
        reply: Option<String>,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            validate_publish_subject(&subject)?;
            let sent = match reply {
                None => self.client.publish(subject, payload).await,
                Some(reply) => {
                    self.client
                        .publish_with_reply(subject, reply, payload)
                        .await
                }
            };
            sent.map_err(|error| {
                let kind = match error.kind() {
                    async_nats::client::PublishErrorKind::InvalidSubject => {
                        TransportErrorKind::InvalidSubject
                    }
                    async_nats::client::PublishErrorKind::MaxPayloadExceeded => {
                        TransportErrorKind::PayloadTooLarge
                    }
                    async_nats::client::PublishErrorKind::Send => TransportErrorKind::NotConnected,
                };
                TransportError::caused_by(kind, error.to_string(), error)
            })
        })
    }

    fn subscribe(&self, subject: String) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        Box::pin(async move {
            validate_subscribe_subject(&subject)?;
            // The SUB goes out before anything this connection publishes afterwards, so a
            // reply to a request published next is delivered to it.
            let subscriber = self.client.subscribe(subject.clone()).await.map_err(lost)?;
            Ok(Subscription::nats(subject, subscriber))
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), TransportError>> {
        Box::pin(async move { self.client.flush().await.map_err(lost) })
    }

    fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    fn link(&self) -> LinkWatch {
        self.link.watch()
    }

    fn broker(&self) -> String {
        self.servers.clone()
    }

    fn new_inbox(&self) -> String {
        self.client.new_inbox()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists_are_checked_before_connecting() {
        assert!(parse_servers(&[]).is_err());
        assert!(parse_servers(&["nats://127.0.0.1:4222".into(), "localhost:4223".into()]).is_ok());
        let tls = parse_servers(&["tls://broker:4222".into()]).unwrap();
        assert!(tls[0].tls_required(), "tls:// implies TLS");
        assert!(parse_servers(&["nats://a b".into()]).is_err());
    }

    #[test]
    fn reconnecting_backs_off_to_a_second() {
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        assert_eq!(reconnect_delay(2), Duration::from_millis(20));
        assert_eq!(reconnect_delay(100), MAX_RECONNECT_DELAY);
    }

    /// A nats-server of this test's own on a free loopback port, killed on drop
    /// (tests/support/nats.rs does the same for the integration tests).
    struct Server(std::process::Child, u16);

    impl Server {
        fn start() -> Server {
            let port = free_port();
            let child = std::process::Command::new("nats-server")
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("nats-server (scripts/test installs it)");
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            for _ in 0..500 {
                if std::net::TcpStream::connect(address).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Server(child, port)
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    async fn next(subscription: &mut Subscription) -> crate::transport::Message {
        tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("a message within 5 s")
            .expect("the subscription is open")
    }

    #[tokio::test]
    async fn messages_go_through_a_real_broker_with_nats_wildcards() {
        let server = Server::start();
        let options = NatsOptions::new(vec![format!("nats://127.0.0.1:{}", server.1)]);
        let nats = Nats::connect(&options).await.unwrap();
        let transport: std::sync::Arc<dyn Transport> = std::sync::Arc::new(nats.clone());
        let mut nodes = transport.subscribe("mc.node.>".into()).await.unwrap();
        let mut one = transport.subscribe("mc.*.web1".into()).await.unwrap();
        let unsubscribed = transport.subscribe("mc.node.web1".into()).await.unwrap();
        drop(unsubscribed);
        nats.round_trip(Duration::from_secs(5)).await.unwrap();
        transport
            .publish(
                "mc.node.web1".into(),
                Some("back".into()),
                Bytes::from_static(b"x"),
            )
            .await
            .unwrap();
        transport.flush().await.unwrap();
        let message = next(&mut nodes).await;
        assert_eq!(message.subject, "mc.node.web1");
        assert_eq!(message.reply.as_deref(), Some("back"));
        assert_eq!(message.payload, Bytes::from_static(b"x"));
        assert_eq!(next(&mut one).await.subject, "mc.node.web1");
        let error = transport
            .publish("mc.*".into(), None, Bytes::new())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::InvalidSubject);
        assert!(transport.new_inbox().starts_with("_INBOX."));
    }

    /// A server on `port` again, as a restarted broker comes back where clients look for it.
    fn restart_on(port: u16) -> Server {
        let child = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server");
        Server(child, port)
    }

    #[tokio::test]
    async fn the_link_follows_the_broker_going_and_coming_back() {
        let server = Server::start();
        let port = server.1;
        let url = format!("nats://127.0.0.1:{port}");
        let nats = Nats::connect(&NatsOptions::new(vec![url.clone()]))
            .await
            .unwrap();
        assert_eq!(nats.broker(), url);
        let link = nats.link();
        assert_eq!(link.state().down_since, None);
        drop(server);
        let lost = tokio::time::timeout(Duration::from_secs(5), link.disconnected()).await;
        let since = lost.expect("the loss is seen within 5 s");
        assert_eq!(link.state().down_since, Some(since));
        assert_eq!(link.state().losses, 1);
        let soon = tokio::time::Instant::now() + Duration::from_millis(300);
        assert!(!link.connected_by(soon).await, "nobody to reconnect to");
        let _back = restart_on(port);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        assert!(link.connected_by(deadline).await, "reconnected");
        assert_eq!(link.state().losses, 1);
    }

    #[tokio::test]
    async fn an_unreachable_broker_is_an_error_not_a_hang() {
        // A port just freed: nothing listens there.
        let port = free_port();
        let mut options = NatsOptions::new(vec![format!("nats://127.0.0.1:{port}")]);
        options.connect_timeout = Duration::from_millis(500);
        let started = std::time::Instant::now();
        let error = Nats::connect(&options).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::NotConnected);
        assert!(
            error
                .to_string()
                .contains("cannot connect to NATS at nats://127.0.0.1"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
