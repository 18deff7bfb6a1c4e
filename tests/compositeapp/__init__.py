"""A test app of models with composite primary keys (Django 5.2's
CompositePrimaryKey): the test project installs it on Django 5.2 and newer only."""
