"""The MariaDB/MySQL driver of the test projects (testproject, wagtailsite)."""

import os


def mysql_driver():
    """mysqlclient, Django's recommended driver, where it is installed (``make
    mysqlclient``); else PyMySQL in its place. PYSERIALIZER_MYSQL_DRIVER=pymysql
    asks for PyMySQL even so. Returns the driver's name and version."""
    import pymysql

    if os.environ.get("PYSERIALIZER_MYSQL_DRIVER") != "pymysql":
        try:
            import MySQLdb._mysql  # noqa: F401  (mysqlclient's C module; PyMySQL has none)
        except ImportError:
            pass
        else:
            import MySQLdb

            return "mysqlclient %d.%d.%d" % MySQLdb.version_info[:3]
    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    return "PyMySQL %s" % pymysql.VERSION_STRING
