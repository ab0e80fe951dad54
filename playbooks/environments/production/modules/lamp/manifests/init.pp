# A LAMP stack: one MySQL database and `web_instances` web servers that use it. The database
# exports the Sql capability; each web server consumes it, so the database's node runs first.
application lamp(
  String  $db_user,
  String  $db_password,
  Integer $web_instances = 1,
) {
  lamp::mysql { $name:
    db_user     => $db_user,
    db_password => $db_password,
    export      => Sql[$name],
  }

  # Web servers are numbered from 1: app1-1, app1-2, ...
  $web_instances.each |$index| {
    $number = $index + 1
    lamp::webapp { "${name}-${number}":
      db_user     => $db_user,
      db_password => $db_password,
      consume     => Sql[$name],
    }
  }
}
