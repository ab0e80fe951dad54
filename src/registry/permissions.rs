//! What a broker that gives each certificate only its own subjects (`orchestrate broker-config`)
//! must let the registry's parties publish: a node only its own entry, so no node can write,
//! replace or remove another's; a client only what reading the bucket takes.

/// A node's: its own key (its entry, and the deletion marker it writes when it stops), and
/// the bucket's stream looked up or made (its replies come to the node's own inbox).
pub fn node_publishes(bucket: &str, node: &str) -> Vec<String> {
    vec![
        format!("$KV.{bucket}.{node}"),
        format!("$JS.API.STREAM.INFO.KV_{bucket}"),
        format!("$JS.API.STREAM.CREATE.KV_{bucket}"),
    ]
}

/// A client's: the stream looked up, an ordered consumer over it made (and looked up or
/// removed when it is made again), its flow control answered; the entries come to the
/// client's own inbox.
pub fn client_publishes(bucket: &str) -> Vec<String> {
    let stream = format!("KV_{bucket}");
    vec![
        format!("$JS.API.STREAM.INFO.{stream}"),
        format!("$JS.API.CONSUMER.CREATE.{stream}"),
        format!("$JS.API.CONSUMER.CREATE.{stream}.>"),
        format!("$JS.API.CONSUMER.INFO.{stream}.>"),
        format!("$JS.API.CONSUMER.DELETE.{stream}.>"),
        format!("$JS.FC.{stream}.>"),
    ]
}
