# Prints a message on the orchestrator's console.
define mco::say (
  String $msg,
) {
  notify { "say_${name}":
    message => $msg,
  }
}
