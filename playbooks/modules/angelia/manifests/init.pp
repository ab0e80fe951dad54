# Sends a notification through one of the servers running the angelia agent.
define angelia (
  String $msg,
  String $recipient,
  String $subject = 'puppet orchestration',
) {
  mcollective { "angelia_notify_${msg}":
    agent       => 'angelianotify',
    action      => 'sendmsg',
    arguments   => { 'recipient' => $recipient, 'message' => $msg, 'subject' => $subject },
    limit_nodes => 1,
  }
}
