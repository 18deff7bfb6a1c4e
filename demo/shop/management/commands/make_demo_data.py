"""``manage.py make_demo_data``: fill the shop with realistic, reproducible data.

Users in groups with permissions, sessions, a category tree, products,
customers with favourites, orders with lines, and comments on products and
orders (GenericForeignKeys). Datetimes carry microseconds and time zones,
prices exact decimals, and texts accents, quotes and line breaks: what a
backup must bring back unchanged.
"""

import datetime
import decimal
import random
import zoneinfo

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand
from django.db import transaction

from shop.models import Category, Comment, Customer, Order, OrderLine, Product

FIRST_NAMES = [
    "Anna", "Bruno", "Chloé", "Dmitri", "Eva", "François", "Greta", "Hugo", "Inès", "Jonas",
    "Katrin", "Luc", "Maja", "Noël", "Olga", "Pieter", "Quentin", "Rosa", "Søren", "Tiina",
    "Ugo", "Vera", "Wim", "Xenia", "Yusuf", "Zoë",
]
LAST_NAMES = [
    "Janssens", "Peeters", "Maes", "Müller", "Schmitz", "Dubois", "Lambert", "Tamm", "Saar",
    "Kask", "O'Brien", "García", "Nowak", "Rossi", "Van den Berg", "Łukasiewicz", "Ng",
]
CITIES = ["Eupen", "Liège", "Tallinn", "Tartu", "Aachen", "Brussels", "Köln", "Maastricht"]
ZONES = ["Europe/Brussels", "Europe/Tallinn", "UTC", "America/New_York", "Asia/Kolkata"]
CATEGORY_TREE = {
    "Books": ["Novels", "Cookbooks", "Travel guides"],
    "Kitchen": ["Knives", "Pans", "Coffee"],
    "Garden": ["Tools", "Seeds"],
}
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Organic", "Handmade", "Vintage", "Smart", "Tiny"]
NOUNS = ["kettle", "grinder", "spade", "novel", "atlas", "skillet", "knife", "seed mix", "mug"]
COMMENTS = [
    "Works as described.", "Arrived late, but \"worth the wait\".", "Très bien !",
    "Two stars:\nthe lid doesn't close.", "Would buy again — 10/10.", "Gift for my mum 🎁",
]


class Command(BaseCommand):
    help = "Fill the demo shop with realistic data (deterministic: --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2013)
        parser.add_argument("--orders", type=int, default=3000)

    @transaction.atomic
    def handle(self, seed, orders, **options):
        rng = random.Random(seed)
        start = datetime.datetime(2023, 1, 1, tzinfo=datetime.timezone.utc)

        def moment():
            when = start + datetime.timedelta(seconds=rng.randint(0, 700 * 86400),
                                              microseconds=rng.randint(0, 999999))
            return when.astimezone(zoneinfo.ZoneInfo(rng.choice(ZONES)))

        staff = Group.objects.create(name="Shop staff")
        staff.permissions.set(Permission.objects.filter(content_type__app_label="shop"))
        writers = Group.objects.create(name="Reviewers")
        writers.permissions.set(Permission.objects.filter(codename__in=["add_comment", "view_product"]))
        User.objects.create_superuser("admin", "admin@shop.example", "admin-password")
        users = []
        for number in range(120):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            user = User(
                username="%s.%s%d" % (first.lower(), last.lower().replace(" ", ""), number),
                first_name=first, last_name=last, email="user%d@shop.example" % number,
                is_staff=number < 5, date_joined=moment(),
            )
            user.set_unusable_password()
            users.append(user)
        User.objects.bulk_create(users)
        # Read back rather than trusting bulk_create to set ids on every backend.
        users = list(User.objects.exclude(username="admin").order_by("pk"))
        for user in users[:5]:
            user.groups.add(staff)
        for user in users[5:40]:
            user.groups.add(writers)
        users[0].user_permissions.add(Permission.objects.get(codename="delete_order"))
        for user in users[:3]:
            session = SessionStore()
            session.update({"_auth_user_id": str(user.pk), "basket": [1, 2, 3]})
            session.create()

        categories = []
        for name, children in CATEGORY_TREE.items():
            parent = Category.objects.create(name=name)
            categories += [Category.objects.create(name=child, parent=parent) for child in children]

        Product.objects.bulk_create(
            Product(
                sku="SKU-%05d" % number,
                name="%s %s" % (rng.choice(ADJECTIVES), rng.choice(NOUNS)),
                category=rng.choice(categories),
                price=decimal.Decimal(rng.randint(99, 99999)) / 100,
                description=rng.choice(["", "Made in Eupen.", "Line one\nline two", "50% off"]),
                attributes={"colour": rng.choice(["red", "green", None]),
                            "sizes": rng.sample(["S", "M", "L", "XL"], rng.randint(0, 3))},
                added=moment(),
            )
            for number in range(400)
        )
        products = list(Product.objects.order_by("pk"))
        Customer.objects.bulk_create(
            Customer(
                user=users[number] if number < len(users) else None,
                name="%s %s" % (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)),
                email="customer%d@mail.example" % number, city=rng.choice(CITIES),
                birth_date=(datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20000))
                            if rng.random() < 0.8 else None),
            )
            for number in range(600)
        )
        customers = list(Customer.objects.order_by("pk"))
        Favourite = Customer.favourites.through
        Favourite.objects.bulk_create(
            Favourite(customer=customer, product=product)
            for customer in customers[::3]
            for product in rng.sample(products, 3)
        )
        Order.objects.bulk_create(
            Order(
                customer=rng.choice(customers), placed=moment(),
                status=rng.choice(Order.STATUSES)[0],
                delivery_time=(datetime.timedelta(days=rng.randint(1, 9), seconds=rng.randint(0, 86399))
                               if rng.random() < 0.6 else None),
            )
            for _ in range(orders)
        )
        order_rows = list(Order.objects.order_by("pk"))
        OrderLine.objects.bulk_create(
            OrderLine(order=order, product=product, quantity=rng.randint(1, 5),
                      unit_price=product.price)
            for order in order_rows
            for product in rng.sample(products, rng.randint(1, 4))
        )
        about = [(ContentType.objects.get_for_model(Product), products),
                 (ContentType.objects.get_for_model(Order), order_rows)]
        comments = []
        for _ in range(800):
            content_type, targets = rng.choice(about)
            comments.append(Comment(
                content_type=content_type, object_id=rng.choice(targets).pk,
                author=rng.choice(users[5:40]), text=rng.choice(COMMENTS), written=moment(),
            ))
        Comment.objects.bulk_create(comments)
        if options["verbosity"] >= 1:
            self.stdout.write(
                "Created %d users, %d products, %d customers, %d orders with %d lines, "
                "%d comments." % (User.objects.count(), len(products), len(customers),
                                  len(order_rows), OrderLine.objects.count(), len(comments))
            )
