"""The benchmark's Django side: migrate, fill, empty and count one database.

Runs as its own process with benchmarks/settings.py (the test project's
settings with a fixed set of apps); DATABASE_URL says which database
(bench.py sets it). The data is the test project's models,
seeded and deterministic: about three quarters of the rows in one wide table
(``testapp.Everything``, one column of each field type) and the rest in
related tables (people with mentors, authors, books and their coauthors,
clubs and memberships, countries and cities, places and restaurants, a
cycle between two models, tags pointing anywhere).

    python benchmarks/generate.py migrate
    python benchmarks/generate.py fill --rows 100000 [--seed 4]
    python benchmarks/generate.py empty      # migrated schema, no rows at all
    python benchmarks/generate.py count      # {"table": rows, ...} as JSON
    python benchmarks/generate.py checksum   # {"table": {"rows", "columns", "negative_zeros"}, ...}
    python benchmarks/generate.py info       # versions and available tools, as JSON
"""

import argparse
import datetime
import decimal
import hashlib
import importlib.util
import json
import math
import os
import platform
import random
import sys
import uuid
from itertools import islice

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

BATCH_SIZE = 1000
CHECKSUM_BATCH_SIZE = 5000
DEFAULT_SEED = 4
# Every NEGATIVE_ZERO_EVERY-th row of Everything has -0.0 in its float column,
# which must come back as -0.0 where the database keeps it (PostgreSQL).
NEGATIVE_ZERO_EVERY = 100
NEGATIVE_ZERO_SQL = "UPDATE %s SET %s = '-0' WHERE %s %% %d = 0"

# Share of the generated rows per table; Everything takes the rest (about 76%).
SHARES = {
    "person": 0.05,
    "author": 0.01,
    "book": 0.05,
    "coauthor": 0.03,
    "club": 0.001,
    "membership": 0.03,
    "city": 0.01,
    "place": 0.01,
    "restaurant": 0.005,  # each one is two rows: the place and the restaurant
    "left": 0.005,
    "right": 0.005,
    "tag": 0.03,
}
COUNTRIES = [
    ("BE", "Belgium"), ("DE", "Germany"), ("EE", "Estonia"), ("FR", "France"),
    ("NL", "Netherlands"), ("ES", "España"), ("GR", "Ελλάδα"), ("JP", "日本"),
    ("US", "United States"), ("BR", "Brasil"), ("CH", "Schweiz"), ("IS", "Ísland"),
]
WORDS = (
    "invoice order delivery payment customer supplier account ledger journal "
    "voucher product service contract project meeting report address street "
    "Zürich café naïve façade Ærø Łódź Straße déjà-vu Köln Ελλάδα 東京 Tallinn "
    "Liège Eupen amount total balance due paid open closed draft 🙂 ✓ №"
).split()
FIRST_NAMES = "Anna Luc Marie Jean Tõnu Ülle Jürgen Zoë Chloé Søren Mateo Aiko Ngozi Olek".split()
LAST_NAMES = "Dupont Tamm Müller O'Brien Peeters Janssens Kask García Nakamura Okafor".split()
EPOCH = datetime.datetime(2015, 1, 1, tzinfo=datetime.timezone.utc)


def setup_django():
    # bench.py runs us on its snapshot of the code; run by hand, on the checkout.
    root = os.environ.get("PYSER_BENCH_CODE") or REPO
    sys.path[:0] = [os.path.join(root, "tests"), root]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()


def counts_for(rows):
    """How many rows each table gets, so that they add up to ``rows``."""
    counts = {name: max(1, int(rows * share)) for name, share in SHARES.items()}
    counts["country"] = len(COUNTRIES)
    counts["coauthor"] = min(counts["coauthor"], counts["book"] * counts["author"])
    others = sum(counts.values()) + counts["restaurant"]  # restaurants fill two tables
    counts["everything"] = rows - others
    if counts["everything"] < 1:
        raise SystemExit("--rows %d is too small: use at least %d" % (rows, others + 1))
    return counts


def batched(iterable, size=BATCH_SIZE):
    iterator = iter(iterable)
    while True:
        batch = list(islice(iterator, size))
        if not batch:
            return
        yield batch


class Data:
    """Seeded values that look like a real application's."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def words(self, low, high):
        rng = self.rng
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))

    def name(self):
        return "%s %s" % (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))

    def moment(self):
        return EPOCH + datetime.timedelta(
            seconds=self.rng.randrange(10 * 365 * 86400), microseconds=self.rng.randrange(10**6)
        )

    def maybe(self, value, none_share=0.1):
        return None if self.rng.random() < none_share else value


def everything_rows(data, count):
    from testapp.models import Everything

    rng = data.rng
    for pk in range(1, count + 1):
        moment = data.moment()
        yield Everything(
            id=pk,
            small=data.maybe(rng.randint(-32768, 32767)),
            integer=rng.randint(-(2**31), 2**31 - 1),
            big=data.maybe(rng.randint(-(2**63), 2**63 - 1)),
            positive_small=rng.randint(0, 32767),
            positive=data.maybe(rng.randint(0, 2**31 - 1)),
            positive_big=rng.randint(0, 2**63 - 1),
            boolean=rng.random() < 0.5,
            null_boolean=data.maybe(rng.random() < 0.5, 0.3),
            char=data.words(2, 6)[:100],
            text=data.maybe(data.words(8, 40), 0.2),
            slug="item-%d-%s" % (pk, rng.choice(("a", "b", "draft", "final"))),
            email=data.maybe("user%d@example.com" % rng.randrange(10**6)),
            url=data.maybe("https://example.com/items/%d?page=%d" % (pk, rng.randrange(100)), 0.5),
            file_path=data.maybe("/srv/files/%d.txt" % pk, 0.7),
            decimal=decimal.Decimal(rng.randrange(-(10**11), 10**11)).scaleb(-6),
            floating=data.maybe(rng.uniform(-1e6, 1e6)),
            date=moment.date(),
            time=data.maybe(moment.time()),
            datetime=moment,
            duration=data.maybe(datetime.timedelta(seconds=rng.randrange(86400 * 30), microseconds=rng.randrange(10**6)), 0.5),
            uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
            binary=data.maybe(rng.randbytes(rng.randint(8, 48)), 0.5),
            ip=data.maybe("10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))),
            file=data.maybe("files/%d.pdf" % pk, 0.5),
            image=data.maybe("images/%d.jpg" % pk, 0.7),
            json=data.maybe({"n": pk, "tags": [data.words(1, 1), data.words(1, 1)], "score": rng.random()}, 0.3),
            integers=data.maybe([rng.randrange(1000) for _ in range(rng.randint(0, 5))], 0.5),
        )


def fill(rows, seed):
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from testapp import models as m

    counts = counts_for(rows)
    data = Data(seed)
    rng = data.rng

    def create(model, objects):
        for batch in batched(objects):
            model.objects.bulk_create(batch)

    with transaction.atomic():
        create(m.Country, (m.Country(id=i, code=c, name=n) for i, (c, n) in enumerate(COUNTRIES, 1)))
        create(m.City, (
            m.City(id=i, name=data.words(1, 2)[:100], country_id=rng.randint(1, len(COUNTRIES)))
            for i in range(1, counts["city"] + 1)
        ))
        create(m.Person, (
            m.Person(id=i, name=data.name(), mentor_id=rng.randint(1, i - 1) if i > 1 and rng.random() < 0.6 else None)
            for i in range(1, counts["person"] + 1)
        ))
        people = rng.sample(range(1, counts["person"] + 1), min(counts["author"], counts["person"]))
        create(m.Author, (
            m.Author(id=i, name=data.name(), person_id=people[i - 1] if i <= len(people) and i % 3 else None)
            for i in range(1, counts["author"] + 1)
        ))
        create(m.Book, (
            m.Book(id=i, title=data.words(2, 8)[:200], author_id=rng.randint(1, counts["author"]))
            for i in range(1, counts["book"] + 1)
        ))
        pairs = set()
        while len(pairs) < counts["coauthor"]:
            pairs.add((rng.randint(1, counts["book"]), rng.randint(1, counts["author"])))
        create(m.Book.coauthors.through, (
            m.Book.coauthors.through(id=i, book_id=b, author_id=a)
            for i, (b, a) in enumerate(sorted(pairs), 1)
        ))
        create(m.Club, (m.Club(id=i, name=data.words(1, 3)[:100]) for i in range(1, counts["club"] + 1)))
        create(m.Membership, (
            m.Membership(
                id=i, club_id=rng.randint(1, counts["club"]), person_id=rng.randint(1, counts["person"]),
                since=data.moment().date(), role=rng.choice(("", "member", "chair", "treasurer")),
            )
            for i in range(1, counts["membership"] + 1)
        ))
        places = counts["place"] + counts["restaurant"]
        create(m.Place, (
            m.Place(id=i, name=data.words(1, 3)[:100], address=data.words(2, 5)[:200])
            for i in range(1, places + 1)
        ))
        # bulk_create refuses multi-table children: the child table directly.
        table = connection.ops.quote_name(m.Restaurant._meta.db_table)
        with connection.cursor() as cursor:
            for batch in batched(range(counts["place"] + 1, places + 1)):
                cursor.executemany(
                    "INSERT INTO %s (place_ptr_id, serves_pizza, seats) VALUES (%%s, %%s, %%s)" % table,
                    [(pk, rng.random() < 0.5, data.maybe(rng.randint(10, 200))) for pk in batch],
                )
        create(m.Left, (m.Left(id=i, name=data.words(1, 2)[:50]) for i in range(1, counts["left"] + 1)))
        create(m.Right, (
            m.Right(id=i, name=data.words(1, 2)[:50], left_id=rng.randint(1, counts["left"]))
            for i in range(1, counts["right"] + 1)
        ))
        for batch in batched(range(1, counts["left"] + 1)):
            lefts = [m.Left(id=pk, right_id=rng.randint(1, counts["right"])) for pk in batch]
            m.Left.objects.bulk_update(lefts, ["right"])
        targets = [
            (ContentType.objects.get_for_model(m.Person).pk, counts["person"]),
            (ContentType.objects.get_for_model(m.Book).pk, counts["book"]),
        ]
        create(m.Tag, (
            m.Tag(id=i, label=data.words(1, 1)[:50], content_type_id=ct, object_id=rng.randint(1, n))
            for i, (ct, n) in ((i, rng.choice(targets)) for i in range(1, counts["tag"] + 1))
        ))
        create(m.Everything, everything_rows(data, counts["everything"]))
        # Django's PostgreSQL backend binds on the client, and PostgreSQL reads
        # the literal -0.0 as -(0.0), that is 0: -0.0 goes in as a string.
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(NEGATIVE_ZERO_SQL % (
                quote(m.Everything._meta.db_table), quote("floating"), quote("id"), NEGATIVE_ZERO_EVERY))
    return counts


def dumped_models():
    """The model of every table whose rows dumpdata writes, many-to-many
    tables included, in loading order (contenttypes and auth first)."""
    from django.apps import apps

    models, tables = [], set()
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if opts.proxy or not opts.managed or opts.db_table in tables:
            continue
        tables.add(opts.db_table)
        models.append(model)
    return models


def dumped_tables():
    return [model._meta.db_table for model in dumped_models()]


def count():
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in dumped_tables():
            cursor.execute("SELECT COUNT(*) FROM %s" % connection.ops.quote_name(table))
            counts[table] = cursor.fetchone()[0]
    return counts


def checksum():
    """Per table: its rows, a digest of each column's values in key order, and
    how many floats are -0.0, as the driver returns them (no Django
    conversion), so that two databases of one backend compare exactly and a
    difference names its columns. A many-to-many table is compared without
    its own ids, which dumpdata does not keep. Read in key-ordered batches,
    so memory does not grow with the table."""
    from django.db import connection

    quote = connection.ops.quote_name
    sums = {}
    with connection.cursor() as cursor:
        for model in dumped_models():
            opts = model._meta
            fields = [f for f in opts.local_concrete_fields if not (opts.auto_created and f.primary_key)]
            if opts.auto_created:
                key = [f.column for f in fields]
            else:
                key = [opts.pk.column]
            columns = key + sorted(f.column for f in fields if f.column not in key)
            floats = [columns.index(f.column) for f in fields if f.get_internal_type() == "FloatField"]
            select = "SELECT %s FROM %s" % (", ".join(map(quote, columns)), quote(opts.db_table))
            order = " ORDER BY %s LIMIT %d" % (", ".join(map(quote, key)), CHECKSUM_BATCH_SIZE)
            after = " WHERE (%s) > (%s)" % (", ".join(map(quote, key)), ", ".join(["%s"] * len(key)))
            digests = [hashlib.blake2b(digest_size=16) for _ in columns]
            rows = negative_zeros = 0
            last_key = None
            while True:
                if last_key is None:
                    cursor.execute(select + order)
                else:
                    cursor.execute(select + after + order, last_key)
                batch = cursor.fetchall()
                if not batch:
                    break
                for index, values in enumerate(zip(*batch)):
                    values = tuple(bytes(v) if isinstance(v, memoryview) else v for v in values)
                    digests[index].update(repr(values).encode())
                    if index in floats:
                        negative_zeros += sum(1 for v in values if v == 0 and math.copysign(1, v) < 0)
                rows += len(batch)
                last_key = list(batch[-1][: len(key)])
            sums[opts.db_table] = {
                "rows": rows,
                "columns": {column: digest.hexdigest() for column, digest in zip(columns, digests)},
                "negative_zeros": negative_zeros,
            }
    return sums


def dump2py_has_option(option):
    """Whether this checkout's dump2py takes ``option`` (``--jobs`` is newer)."""
    from django.core.management import get_commands, load_command_class

    if "dump2py" not in get_commands():
        return False
    parser = load_command_class(get_commands()["dump2py"], "dump2py").create_parser("django", "dump2py")
    return option in parser._option_string_actions


def restore_has_option(option):
    """Whether this checkout's restore.py takes ``option`` (``--no-signals`` is newer)."""
    if importlib.util.find_spec("pyserializer.restore") is None:
        return False
    import argparse

    from pyserializer.restore import add_restore_arguments

    parser = argparse.ArgumentParser()
    add_restore_arguments(parser)
    return option in parser._option_string_actions


def database_driver(connection):
    """The driver's name and version: what the Django steps ran on (on MariaDB
    the test project's settings choose mysqlclient or PyMySQL)."""
    module = connection.Database
    if connection.vendor == "sqlite":
        return "sqlite3 of Python %s" % platform.python_version()
    if connection.vendor == "mysql" and module.__name__ == "pymysql":
        return "PyMySQL %s" % module.VERSION_STRING  # its __version__ is the mysqlclient it stands in for
    if connection.vendor == "mysql":
        return "mysqlclient %d.%d.%d" % module.version_info[:3]
    return "%s %s" % (module.__name__, module.__version__)


def empty():
    """Delete every row (content types and permissions too), keep the schema."""
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sql_flush(
        no_style(), dumped_tables(), reset_sequences=True, allow_cascade=True
    )
    connection.ops.execute_sql_flush(statements)


def info():
    import django
    from django.core.management import get_commands
    from django.db import connection

    with connection.cursor():
        pass
    if connection.vendor == "sqlite":
        import sqlite3

        server = "SQLite %s" % sqlite3.sqlite_version
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = "PostgreSQL %s" % cursor.fetchone()[0]
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            server = "MySQL/MariaDB %s" % cursor.fetchone()[0]
    import pyserializer

    return {
        "django": django.get_version(),
        "pyserializer": pyserializer.__version__,
        "vendor": connection.vendor,
        "server": server,
        "dump2py": "dump2py" in get_commands(),
        "restore_script": importlib.util.find_spec("pyserializer.restore") is not None,
        "restore_no_signals": restore_has_option("--no-signals"),
        "restore_jobs": restore_has_option("--jobs"),
        "compress": importlib.util.find_spec("pyserializer.files.compression") is not None,
        "zstd": importlib.util.find_spec("zstandard") is not None,
        "dump2py_jobs": dump2py_has_option("--jobs"),
        "dump2py_jobs_refused": jobs_refused(),
        "driver": database_driver(connection),
        "tables": dumped_tables(),
    }


def jobs_refused():
    """Why this database cannot be dumped with dump2py --jobs (the code's own
    reason), or None."""
    try:
        from pyserializer.dumping.parallel import reason_not_to_split
    except ImportError:
        return None
    return reason_not_to_split("default")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["migrate", "fill", "empty", "count", "checksum", "info"])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    setup_django()
    from django.core.management import call_command

    if args.action in ("migrate", "fill", "empty"):
        call_command("migrate", verbosity=0, interactive=False)
    if args.action == "fill":
        fill(args.rows, args.seed)
        print(json.dumps(count()))
    elif args.action == "empty":
        empty()
    elif args.action == "count":
        print(json.dumps(count()))
    elif args.action == "checksum":
        print(json.dumps(checksum()))
    elif args.action == "info":
        print(json.dumps(info()))


if __name__ == "__main__":
    main()
