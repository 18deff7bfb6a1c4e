"""Check that editors can work on the site: every revision loads as its object's
type, every page's edit view answers 200 to a superuser, and publishing each
draft keeps the page's type. A revision keeps its page's content type id inside
its JSON, where no foreign key points: a restore that renumbers content types
breaks all three. Publishing changes the site: run this last."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from wagtail.models import Page, Revision


def revision_problems():
    problems, checked = [], 0
    for revision in Revision.objects.order_by("pk"):
        owner = revision.content_object
        if owner is None:  # a revision of a deleted object, kept by the audit log
            continue
        checked += 1
        try:
            loaded = revision.as_object()
        except Exception as exc:
            problems.append("revision %s of %r: as_object() raised %r" % (revision.pk, owner, exc))
            continue
        if type(loaded) is not type(owner):
            problems.append("revision %s of %r loads as %s, not %s" % (
                revision.pk, owner, type(loaded).__name__, type(owner).__name__))
    return problems, checked


def edit_view_problems():
    client = Client(raise_request_exception=False)  # a failing view answers 500
    client.force_login(get_user_model().objects.filter(is_superuser=True).order_by("pk").first())
    problems, pages = [], Page.objects.filter(depth__gt=1).order_by("path")
    for page in pages:
        response = client.get("/admin/pages/%d/edit/" % page.pk, HTTP_HOST="localhost")
        if response.status_code != 200:
            problems.append("page %s %r: the edit view answered %d" % (
                page.pk, page.title, response.status_code))
    return problems, len(pages)


def publishing_problems():
    problems, drafts = [], Page.objects.filter(has_unpublished_changes=True).order_by("path")
    for page in drafts:
        specific_class = page.specific_class
        try:
            page.latest_revision.publish()
        except Exception as exc:
            problems.append("page %s %r: publishing its draft raised %r" % (page.pk, page.title, exc))
            continue
        published = Page.objects.get(pk=page.pk)
        if published.specific_class is not specific_class or type(published.specific) is not specific_class:
            problems.append("page %s %r is a %s after publishing its draft, not a %s" % (
                page.pk, page.title, type(published.specific).__name__, specific_class.__name__))
    return problems, len(drafts)


class Command(BaseCommand):
    help = "Load every revision, open every page's edit view, publish every draft."

    def handle(self, **options):
        revisions, revision_count = revision_problems()
        views, page_count = edit_view_problems()
        published, draft_count = publishing_problems()
        problems = revisions + views + published
        if problems:
            raise CommandError("\n".join(problems))
        if not (revision_count and page_count and draft_count):
            raise CommandError("nothing to check: %d revisions, %d pages, %d drafts" % (
                revision_count, page_count, draft_count))
        self.stdout.write("%d revisions loaded, %d edit views answered 200, %d drafts published."
                          % (revision_count, page_count, draft_count))
