# A web server of a LAMP stack, configured with the database it consumes.
define lamp::webapp(
  String $db_user,
  String $db_password,
  String $db_host = 'localhost',
  String $db_name = $name,
  Integer $db_port = 3306,
  String $docroot = '/var/www/html',
) {
  package { ['apache2', 'php', 'php-mysql']:
    ensure => installed,
  }

  file { "${docroot}/config.php":
    ensure  => file,
    content => "<?php \$db = new mysqli('${db_host}', '${db_user}', '${db_password}', '${db_name}', ${db_port});\n",
    require => Package['php'],
  }
}

# The Sql capability's attributes become the web server's parameters.
Lamp::Webapp consumes Sql {
  db_user     => $user,
  db_password => $password,
  db_host     => $host,
  db_name     => $database,
  db_port     => $port,
}
