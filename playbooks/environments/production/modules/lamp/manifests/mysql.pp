# The database of a LAMP stack, on one node.
define lamp::mysql(
  String $db_user,
  String $db_password,
  String $host = 'localhost',
  Integer $port = 3306,
) {
  package { 'mariadb-server':
    ensure => installed,
  }

  service { 'mariadb':
    ensure  => running,
    require => Package['mariadb-server'],
  }
}

# What a web server learns from the database it consumes.
Lamp::Mysql produces Sql {
  user     => $db_user,
  password => $db_password,
  host     => $host,
  database => $name,
  port     => $port,
}
