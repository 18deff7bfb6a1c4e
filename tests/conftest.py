"""Fixtures shared by the tests; the helper functions are in helpers.py."""

import pytest
from django.db import connection


@pytest.fixture
def dump_dir_path(tmp_path):
    """An empty directory for a directory dump."""
    path = tmp_path / "dump"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def fresh_content_type_cache():
    """Content types are cached by id; a rolled-back test may leave stale ids."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


@pytest.fixture
def new_database_url(tmp_path):
    """The URL of a new, empty database on the backend under test; dropped afterwards."""
    settings_dict = connection.settings_dict
    vendor = connection.vendor
    if vendor == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "new.sqlite3")
        return
    name = "%s_new" % settings_dict["NAME"]
    host, port, user = settings_dict["HOST"], settings_dict["PORT"], settings_dict["USER"]
    password = settings_dict["PASSWORD"]
    if vendor == "postgresql":
        import psycopg

        def admin(sql):
            with psycopg.connect(host=host, port=port or 5432, user=user, password=password or None,
                                 dbname="postgres", autocommit=True) as conn:
                conn.execute(sql)

        admin('DROP DATABASE IF EXISTS "%s"' % name)
        admin('CREATE DATABASE "%s"' % name)
        scheme = "postgres"
    else:
        import pymysql

        def admin(sql):
            conn = pymysql.connect(host=host, port=int(port or 3306), user=user,
                                   password=password or "")
            try:
                conn.cursor().execute(sql)
            finally:
                conn.close()

        admin("DROP DATABASE IF EXISTS `%s`" % name)
        admin("CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" % name)
        scheme = "mysql"
    auth = user + (":%s" % password if password else "")
    yield "%s://%s@%s:%s/%s" % (scheme, auth, host, port, name)
    admin(('DROP DATABASE IF EXISTS "%s"' if vendor == "postgresql" else
           "DROP DATABASE IF EXISTS `%s`") % name)


@pytest.fixture(scope="module")
def auto_increment_reset(django_db_setup, django_db_blocker):
    """MariaDB keeps a table's AUTO_INCREMENT counter past the highest key ever
    inserted, even by a rolled-back test: after a module that inserts keys up to
    the column's maximum, set the counters back so that later tests can create rows."""
    yield
    if connection.vendor != "mysql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for table in connection.introspection.django_table_names(only_existing=True):
            cursor.execute("ALTER TABLE %s AUTO_INCREMENT = 1" % connection.ops.quote_name(table))
