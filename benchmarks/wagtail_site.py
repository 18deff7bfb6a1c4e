"""A Wagtail site of a chosen size, built as editors build one, for the benchmark.

The test site's models and settings (tests/wagtailsite, through
benchmarks/wagtail_settings.py) with everything a dump of a real site carries:
a page tree of several levels made with ``add_child`` (treebeard keeps path,
depth and numchild right), several revisions per page (published and drafts),
StreamField bodies, tags, images and documents (small files), snippets with
revisions, users, groups and permissions, comments, the audit log (page and
model log entries, also of moved, unpublished and deleted pages), a
translated subtree in a second locale, workflows in progress, approved and
rejected, redirects, form submissions, and the database search backend's
index. Every row comes from Wagtail's own APIs, which keep its invariants;
only form submissions, which are plain rows, are bulk-created. The content is
seeded; timestamps are the time of the build, and the UUIDs (translation keys,
log entries) Wagtail draws itself.

Runs as its own process; WAGTAILSITE_DATABASE_URL says which database:

    python benchmarks/wagtail_site.py migrate
    python benchmarks/wagtail_site.py build --rows 40000 [--seed 4]   # prints the row counts
    python benchmarks/wagtail_site.py count       # {"table": rows, ...} as JSON
    python benchmarks/wagtail_site.py checksums   # {"model": sha256 of its rows, "model.field": ...}
    python benchmarks/wagtail_site.py info        # versions, as JSON
"""

import argparse
import datetime
import decimal
import hashlib
import io
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.wagtail_settings")

import generate  # noqa: E402  (setup_django, count and info are the generic benchmark's)

DEFAULT_ROWS = 40000
DEFAULT_SEED = 4
# Rows a blog page brings with its revisions, log entries, tags, references,
# comments and search entry; the rest of the site scales with the pages.
ROWS_PER_POST = 38

WORDS = (
    "garden river light stone autumn harbour lantern orchard meadow letter bridge "
    "winter market festival library museum café crème brûlée naïve Zoë Øresund "
    "façade jalapeño 🙂 ✓ № 東京 Ελλάδα"
).split()
TAGS = "news events science travel food music art sport archive green sky red".split()


class Words:
    """Seeded text: titles, paragraphs, names."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def some(self, low, high):
        return " ".join(self.random.choice(WORDS) for _ in range(self.random.randint(low, high)))

    def title(self):
        return self.some(2, 5).capitalize()

    def paragraph(self):
        return "<p>%s <b>%s</b> &amp; “%s”.</p>" % (self.some(10, 40), self.some(1, 3), self.some(2, 6))


class Plan:
    """How many of each thing a site of about ``rows`` rows has."""

    def __init__(self, rows):
        self.posts = max(8, rows // ROWS_PER_POST)
        self.sections = max(2, self.posts // 120)
        self.indexes_per_section = 3
        self.users = max(5, self.posts // 8)
        self.images = max(3, self.posts // 12)
        self.documents = max(2, self.posts // 25)
        self.authors = max(2, self.posts // 30)
        self.forms = max(1, self.posts // 150)
        self.submissions = self.posts * 6
        self.redirects = self.posts
        self.translated = max(2, self.posts // 20)
        self.workflows = max(3, self.posts // 15)
        self.deleted = max(1, self.posts // 40)
        self.moved = max(1, self.posts // 40)
        self.unpublished = max(1, self.posts // 50)


def png(name, colour):
    """A tiny PNG made with Pillow, as an uploaded file."""
    from django.core.files.images import ImageFile
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (16, 12), colour).save(buffer, "PNG")
    return ImageFile(buffer, name=name)


class SiteBuilder:
    def __init__(self, rows, seed):
        self.plan = Plan(rows)
        self.words = Words(seed)
        self.random = self.words.random
        self.timings = {}

    def timed(self, name, function):
        start = time.perf_counter()
        function()
        self.timings[name] = round(time.perf_counter() - start, 1)

    def build(self):
        from django.db import transaction

        # One transaction per part, as the admin's requests each have theirs,
        # but not one per row: building stays within minutes.
        for name in ("people", "media", "snippets", "tree", "posts", "comments", "workflows",
                     "translations", "changes", "forms", "redirects"):
            with transaction.atomic():
                self.timed(name, getattr(self, "build_" + name))
        return self.timings

    # -- users, groups, permissions ------------------------------------------

    def build_people(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from wagtail.users.models import UserProfile

        User = get_user_model()
        self.admin = User.objects.create_superuser("admin", "admin@example.org", "admin")
        self.groups = [Group.objects.create(name="Section %d editors" % n)
                       for n in range(self.plan.sections)]
        # Section editors edit the snippets too; pages, through their section.
        shared = Permission.objects.filter(
            codename__in=["access_admin", "add_author", "change_author", "publish_author"])
        for group in self.groups:
            group.permissions.add(*shared)
        moderators = Group.objects.get(name="Moderators")
        self.users = []
        for number in range(self.plan.users):
            first, last = self.words.some(1, 1).capitalize(), self.words.some(1, 1).capitalize()
            user = User.objects.create_user(
                "user%04d" % number, "user%04d@example.org" % number, "password",
                first_name=first, last_name=last,
            )
            user.groups.add(self.groups[number % len(self.groups)])
            if number % 10 == 0:
                user.groups.add(moderators)
            profile = UserProfile.get_for_user(user)
            profile.preferred_language = "fr" if number % 3 == 0 else "en"
            profile.save()
            self.users.append(user)

    def user(self, section=None):
        """Someone who may publish in ``section`` (any section when None)."""
        if section is None:
            return self.random.choice(self.users)
        return self.random.choice(self.users[section % len(self.groups)::len(self.groups)])

    # -- images, documents ---------------------------------------------------

    def build_media(self):
        from django.contrib.auth.models import Permission
        from django.core.files.base import ContentFile
        from wagtail.documents import get_document_model
        from wagtail.images import get_image_model
        from wagtail.log_actions import log
        from wagtail.models import Collection, GroupCollectionPermission

        root = Collection.get_first_root_node()
        self.collections = [root.add_child(name="Collection %d" % n) for n in range(self.plan.sections)]
        for group, collection in zip(self.groups, self.collections):
            for codename in ("add_image", "choose_image", "change_image", "add_document", "choose_document"):
                GroupCollectionPermission.objects.create(
                    group=group, collection=collection, permission=Permission.objects.get(codename=codename),
                )
        Image = get_image_model()
        self.images = []
        for number in range(self.plan.images):
            colour = tuple(self.random.randrange(256) for _ in range(3))
            image = Image(title=self.words.title(), file=png("photo%04d.png" % number, colour),
                          collection=self.random.choice(self.collections), uploaded_by_user=self.user())
            if number % 4 == 0:
                image.focal_point_x, image.focal_point_y = 4, 3
                image.focal_point_width, image.focal_point_height = 6, 5
            image.save()
            image.tags.add(*self.random.sample(TAGS, 2))
            log(image, "wagtail.create", user=image.uploaded_by_user)
            if number % 3 == 0:
                image.get_rendition("fill-8x8")
            self.images.append(image)
        Document = get_document_model()
        self.documents = []
        for number in range(self.plan.documents):
            text = "%s\n" % self.words.some(5, 20)
            document = Document(title=self.words.title(), collection=self.random.choice(self.collections),
                                file=ContentFile(text.encode(), name="notes%04d.txt" % number),
                                uploaded_by_user=self.user())
            document.save()
            document.tags.add(self.random.choice(TAGS))
            log(document, "wagtail.create", user=document.uploaded_by_user)
            self.documents.append(document)

    # -- snippets --------------------------------------------------------------

    def build_snippets(self):
        from wagtail.log_actions import log

        from wagtailsite.home.models import Author

        self.authors = []
        for number in range(self.plan.authors):
            author = Author(name=self.words.title(), bio=self.words.some(5, 15))
            author.save()
            editor = self.user()
            log(author, "wagtail.create", user=editor)
            author.save_revision(user=editor, log_action=True).publish(user=editor)
            if number % 3 == 0:  # a draft of a later bio
                author.bio = self.words.some(5, 15)
                author.save_revision(user=self.user(), log_action=True)
            self.authors.append(author)

    # -- the page tree ---------------------------------------------------------

    def publish(self, page, user):
        page.save_revision(user=user, log_action=True).publish(user=user)

    def build_tree(self):
        from django.contrib.auth.models import Group, Permission
        from wagtail.models import GroupPagePermission, Page, PageViewRestriction

        from wagtailsite.home.models import BlogIndexPage, HomePage

        self.home = Page.objects.get(depth=2, slug="home").specific
        self.home.body = self.words.paragraph()
        self.publish(self.home, self.admin)
        self.indexes = []
        for number in range(self.plan.sections):
            section = self.home.add_child(instance=HomePage(
                title="Section %d: %s" % (number, self.words.title()), slug="section-%d" % number,
                live=False, body=self.words.paragraph(),
            ))
            self.publish(section, self.admin)
            for codename in ("add_page", "change_page", "publish_page"):
                GroupPagePermission.objects.create(
                    group=self.groups[number], page=section,
                    permission=Permission.objects.get(codename=codename, content_type__app_label="wagtailcore"),
                )
            for sub in range(self.plan.indexes_per_section):
                index = section.add_child(instance=BlogIndexPage(
                    title=self.words.title(), slug="blog-%d" % sub, live=False, intro=self.words.paragraph(),
                ))
                self.publish(index, self.admin)
                self.indexes.append(index)
            if number == 0:
                restriction = PageViewRestriction.objects.create(
                    page=section, restriction_type=PageViewRestriction.GROUPS,
                )
                restriction.groups.add(Group.objects.get(name="Editors"))

    def body(self, title):
        """A StreamField body of each block type, pointing at images, documents and pages."""
        blocks = [("heading", title)]
        for _ in range(self.random.randint(2, 6)):
            kind = self.random.choice(("paragraph", "paragraph", "image", "document", "related", "quote", "links"))
            if kind == "paragraph":
                blocks.append(("paragraph", self.words.paragraph()))
            elif kind == "image":
                blocks.append(("image", self.random.choice(self.images)))
            elif kind == "document":
                blocks.append(("document", self.random.choice(self.documents)))
            elif kind == "related":
                blocks.append(("related", self.random.choice(self.posts) if self.posts else self.home))
            elif kind == "quote":
                blocks.append(("quote", {"text": self.words.some(5, 12), "source": self.words.some(1, 2)}))
            else:
                blocks.append(("links", ["https://example.org/%s" % n for n in range(self.random.randint(1, 3))]))
        return blocks

    def build_posts(self):
        from wagtailsite.home.models import BlogPage

        self.posts = []
        self.section_of = {}
        start = datetime.date(2019, 1, 1)
        for number in range(self.plan.posts):
            index = self.indexes[number % len(self.indexes)]
            section = number % len(self.indexes) // self.plan.indexes_per_section
            title = self.words.title()
            post = index.add_child(instance=BlogPage(
                title=title, slug="post-%05d" % number, live=False,
                date=start + datetime.timedelta(days=number % 2000),
                rating=decimal.Decimal(self.random.randint(0, 500)) / 100 if number % 3 else None,
                author=self.random.choice(self.authors),
                feed_image=self.random.choice(self.images) if number % 4 else None,
                body=self.body(title),
            ))
            post.tags.add(*self.random.sample(TAGS, self.random.randint(1, 4)))
            self.section_of[post.pk] = section
            editor = self.user(section)
            self.publish(post, editor)
            # Later edits: drafts, some published, the last one a draft half the time.
            for edit in range(self.random.randint(1, 6)):
                post.title = "%s (%s)" % (title, edit + 2)
                post.body = self.body(post.title)
                revision = post.save_revision(user=self.user(section), log_action=True)
                if self.random.random() < 0.4:
                    revision.publish(user=editor)
            self.posts.append(post)

    def build_comments(self):
        from wagtail.log_actions import log
        from wagtail.models import Comment, CommentReply, PageSubscription

        for post in self.random.sample(self.posts, len(self.posts) // 3):
            user = self.user()
            comment = Comment.objects.create(
                page=post, user=user, text=self.words.some(3, 12), contentpath="title",
                revision_created=post.latest_revision,
            )
            log(post, "wagtail.comments.create", user=user,
                data={"comment": {"id": comment.pk, "contentpath": comment.contentpath, "text": comment.text}})
            PageSubscription.objects.get_or_create(page=post, user=user, defaults={"comment_notifications": True})
            if self.random.random() < 0.5:
                CommentReply.objects.create(comment=comment, user=self.user(), text=self.words.some(2, 8))

    def build_workflows(self):
        from wagtail.models import Workflow

        workflow = Workflow.objects.get(name="Moderators approval")
        moderator = self.admin
        for number, post in enumerate(self.random.sample(self.posts, self.plan.workflows)):
            post.title = "%s (for review)" % post.title
            editor = self.user(self.section_of[post.pk])
            post.save_revision(user=editor, log_action=True)
            state = workflow.start(post, editor)
            task_state = state.current_task_state
            if number % 3 == 1:
                task_state.task.specific.on_action(task_state.specific, moderator, "approve", comment="Fine.")
            elif number % 3 == 2:
                task_state.task.specific.on_action(task_state.specific, moderator, "reject", comment="Not yet.")

    def build_translations(self):
        from wagtail.models import Locale, Site

        french = Locale.objects.create(language_code="fr")
        sources = [post for post in self.posts if not post.workflow_in_progress][: self.plan.translated]
        for post in sources:
            # A translator translates the parents first, then the post.
            for page in list(post.get_ancestors().filter(depth__gt=1)) + [post]:
                if not page.get_translations().filter(locale=french).exists():
                    translation = page.specific.copy_for_translation(french)
                    translation.title = "%s (fr)" % translation.title
                    self.publish(translation, self.admin)
        home_fr = self.home.get_translation(french)
        Site.objects.create(hostname="fr.localhost", root_page=home_fr, site_name="Site (fr)")

    def build_changes(self):
        """Moves, unpublications and deletions: the log keeps pages that are gone."""
        from wagtail.models import Page

        candidates = [post for post in self.posts if not post.workflow_in_progress
                      and not post.get_translations().exists()]
        self.random.shuffle(candidates)
        plan = self.plan
        for post in candidates[: plan.moved]:
            page = Page.objects.get(pk=post.pk)
            page.move(self.random.choice(self.indexes), pos="last-child", user=self.admin)
        for post in candidates[plan.moved: plan.moved + plan.unpublished]:
            Page.objects.get(pk=post.pk).specific.unpublish(user=self.user(self.section_of[post.pk]))
        gone = candidates[plan.moved + plan.unpublished: plan.moved + plan.unpublished + plan.deleted]
        for post in gone:
            Page.objects.get(pk=post.pk).specific.delete(user=self.admin)
        gone_ids = {post.pk for post in gone}
        self.posts = [post for post in self.posts if post.pk not in gone_ids]

    def build_forms(self):
        from wagtail.contrib.forms.models import FormSubmission

        from wagtailsite.home.models import FormField, FormPage

        forms = []
        for number in range(self.plan.forms):
            form = self.home.add_child(instance=FormPage(
                title="Contact %d" % number, slug="contact-%d" % number, live=False,
                intro=self.words.paragraph(), thank_you_text="<p>Thanks!</p>",
                to_address="team@example.org", from_address="site@example.org", subject="Contact form",
            ))
            FormField.objects.create(page=form, sort_order=0, label="Your name", field_type="singleline",
                                     required=True)
            FormField.objects.create(page=form, sort_order=1, label="Message", field_type="multiline",
                                     required=False)
            FormField.objects.create(page=form, sort_order=2, label="Newsletter", field_type="checkbox",
                                     required=False)
            self.publish(form, self.admin)
            forms.append(form)
        FormSubmission.objects.bulk_create(
            FormSubmission(page=self.random.choice(forms), form_data={
                "your_name": self.words.some(1, 2), "message": self.words.some(3, 30),
                "newsletter": self.random.random() < 0.3,
            })
            for _ in range(self.plan.submissions)
        )

    def build_redirects(self):
        from wagtail.contrib.redirects.models import Redirect
        from wagtail.models import Site

        site = Site.objects.get(is_default_site=True)
        for number in range(self.plan.redirects):
            if number % 3:
                Redirect.add_redirect("/old/%05d" % number, redirect_to=self.random.choice(self.posts), site=site)
            else:
                Redirect.add_redirect("/gone/%05d" % number, redirect_to="https://example.org/%d" % number,
                                      is_permanent=number % 2 == 0)


def tree_problems():
    """What treebeard finds wrong in the page and collection trees (nothing, when
    the site was built right): {model: {problem: ids}} of the non-empty ones."""
    from wagtail.models import Collection, Page

    names = ("bad_alpha", "bad_path", "orphans", "bad_depth", "bad_numchild")
    problems = {}
    for model in (Page, Collection):
        found = {name: list(ids) for name, ids in zip(names, model.find_problems()) if ids}
        if found:
            problems[model._meta.label] = found
    return problems


def checksums():
    """{model label: sha256 of its rows, "label.field": sha256 of that column},
    canonical across backends, with content types and permissions by natural
    key (the test site's snapshot code): a restored copy is compared with its
    source table by table, and a difference is named down to the field."""
    from wagtailsite.home.management.commands.site_snapshot import table_rows

    def digest(value):
        return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    digests = {}
    for label, rows in table_rows().items():
        digests[label] = digest(rows)
        if rows and "pk" in rows[0]:
            for field in sorted(set(rows[0]) - {"pk"}):
                digests["%s.%s" % (label, field)] = digest([[row["pk"], row[field]] for row in rows])
    return digests


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["migrate", "build", "count", "checksums", "info"])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="about how many rows in all")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    generate.setup_django()
    from django.core.management import call_command

    if args.action in ("migrate", "build"):
        call_command("migrate", verbosity=0, interactive=False)
    if args.action == "build":
        timings = SiteBuilder(args.rows, args.seed).build()
        print(json.dumps({"timings": timings, "counts": generate.count(), "tree_problems": tree_problems()}))
    elif args.action == "count":
        print(json.dumps(generate.count()))
    elif args.action == "checksums":
        print(json.dumps(checksums()))
    elif args.action == "info":
        print(json.dumps(generate.info()))


if __name__ == "__main__":
    main()
