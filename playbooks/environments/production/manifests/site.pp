# The seed's site: two LAMP stacks, each a database on dev1 and three web servers on dev2..dev4.
# `orchestrate site --environment production --plan` reads it: dev1 runs first (it produces the
# Sql capabilities), then dev2, dev3 and dev4 together.
site {
  lamp { 'app2':
    db_user       => 'user',
    db_password   => 'secret',
    web_instances => 3,
    nodes         => {
      Node['dev1.example.net'] => Lamp::Mysql['app2'],
      Node['dev2.example.net'] => Lamp::Webapp['app2-1'],
      Node['dev3.example.net'] => Lamp::Webapp['app2-2'],
      Node['dev4.example.net'] => Lamp::Webapp['app2-3'],
    },
  }

  lamp { 'app1':
    db_user       => 'user',
    db_password   => 'secret',
    web_instances => 3,
    nodes         => {
      Node['dev1.example.net'] => Lamp::Mysql['app1'],
      Node['dev2.example.net'] => Lamp::Webapp['app1-1'],
      Node['dev3.example.net'] => Lamp::Webapp['app1-2'],
      Node['dev4.example.net'] => Lamp::Webapp['app1-3'],
    },
  }
}
