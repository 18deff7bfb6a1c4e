"""Migrate a new database and fill it with a small Wagtail site, through Wagtail's
own APIs, as editors would: everything a dump of a real site must carry.

Content types and permissions are renumbered first (ids from 501), as on a site
whose apps were added over the years: a fresh migrate of the same code numbers
them from 1, and a restore must keep the ids that revisions hold in their JSON."""

import datetime
import decimal
import io

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test import Client
from PIL import Image as PILImage
from renumber import shift_content_type_and_permission_ids
from wagtail.contrib.forms.models import FormSubmission
from wagtail.contrib.redirects.models import Redirect
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import (
    Collection, GroupCollectionPermission, GroupPagePermission, Page, Site, Workflow,
)

from wagtailsite.home.models import Author, BlogIndexPage, BlogPage, FormField, FormPage


def png(name, color, size=(40, 30)):
    """A small PNG made with Pillow, as an uploaded file."""
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "PNG")
    return ImageFile(buffer, name=name)


def publish(page, user):
    """Save a revision of `page` and publish it, as the editor's "Publish" does."""
    page.save_revision(user=user, log_action=True).publish(user=user)


class Command(BaseCommand):
    help = "Migrate a new database and build the test site's pages, media, users and audit log."

    def handle(self, **options):
        call_command("migrate", interactive=False, verbosity=0)
        shift_content_type_and_permission_ids(500)
        User = get_user_model()
        admin = User.objects.create_superuser("admin", "admin@example.org", "admin")
        editor = User.objects.create_user(
            "editor", "editor@example.org", "editor", first_name="Élodie", last_name="Dupré"
        )
        editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
        editors = Group.objects.create(name="Blog editors")
        editor.groups.add(editors)

        photos = Collection.get_first_root_node().add_child(name="Photos")
        for codename in ["add_image", "choose_image", "change_image"]:
            GroupCollectionPermission.objects.create(
                group=editors, collection=photos,
                permission=Permission.objects.get(codename=codename),
            )

        Image = get_image_model()
        images = []
        colours = [("red", (200, 20, 20)), ("sky", (90, 160, 230)), ("leaf", (30, 150, 40))]
        for name, color in colours:
            image = Image(title=name.title(), file=png(f"{name}.png", color),
                          collection=photos, uploaded_by_user=editor)
            image.save()
            image.tags.add(name, "colour")
            images.append(image)
        images[1].focal_point_x, images[1].focal_point_y = 10, 12
        images[1].focal_point_width, images[1].focal_point_height = 8, 6
        images[1].save()

        Document = get_document_model()
        notes = Document(title="Notes", file=ContentFile(b"Some notes.\n", name="notes.txt"),
                         uploaded_by_user=admin)
        notes.save()
        notes.tags.add("notes")
        prices = Document(title="Prices", collection=photos,
                          file=ContentFile(b"item,price\ntea,2.50\n", name="prices.csv"))
        prices.save()

        author = Author(name="Ada", bio="Writes about colours.")
        author.save()
        author.save_revision(user=admin).publish(user=admin)
        author.bio = "Writes about colours, and tea."
        author.save_revision(user=editor)  # a draft, not published

        home = Page.objects.get(depth=2, slug="home").specific
        home.body = "<p>Welcome to <b>our</b> site.</p>"
        publish(home, admin)

        index = home.add_child(instance=BlogIndexPage(title="Blog", slug="blog", live=False,
                                                      intro="<p>News and notes.</p>"))
        publish(index, admin)
        for permission in ["add_page", "change_page", "publish_page"]:
            GroupPagePermission.objects.create(
                group=editors, page=index,
                permission=Permission.objects.get(codename=permission,
                                                  content_type__app_label="wagtailcore"),
            )

        posts = []
        for number, (title, tags) in enumerate([
            ("First light", ["sky", "morning"]),
            ("Red letter day", ["red"]),
            ("Old news", ["archive"]),
            ("Leaves", ["green", "autumn", "sky"]),
        ]):
            post = BlogPage(
                title=title, slug=title.lower().replace(" ", "-"), live=False,
                date=datetime.date(2024, 3, 1 + number), author=author,
                rating=decimal.Decimal("4.25") if number % 2 else None,
                feed_image=images[number % len(images)],
                body=[
                    ("heading", f"{title}: part one"),
                    ("paragraph", f"<p>Post {number}, with <i>emphasis</i> &amp; “quotes”.</p>"),
                    ("image", images[(number + 1) % len(images)]),
                    ("document", notes),
                    ("related", home),
                    ("quote", {"text": "Less is more.", "source": "Mies"}),
                    ("links", ["https://example.org/a", "https://example.org/b"]),
                ],
            )
            index.add_child(instance=post)
            post.tags.add(*tags)
            publish(post, editor)
            posts.append(post)

        # A later draft of a published page.
        draft = BlogPage.objects.get(pk=posts[0].pk)
        draft.title = "First light (revised)"
        draft.save_revision(user=editor, log_action=True)

        # The audit log keeps the id of a deleted page and of its revisions.
        Page.objects.get(pk=posts[2].pk).specific.delete(user=admin)

        # A page in moderation, through the workflow the migrations create.
        moderated = BlogPage.objects.get(pk=posts[3].pk)
        moderated.title = "Leaves (for review)"
        moderated.save_revision(user=editor)
        Workflow.objects.get(name="Moderators approval").start(moderated, editor)

        form = home.add_child(instance=FormPage(
            title="Contact", slug="contact", live=False, intro="<p>Write to us.</p>",
            thank_you_text="<p>Thanks!</p>", to_address="team@example.org",
            from_address="site@example.org", subject="Contact form",
        ))
        FormField.objects.create(page=form, sort_order=0, label="Your name",
                                 field_type="singleline", required=True)
        FormField.objects.create(page=form, sort_order=1, label="Message",
                                 field_type="multiline", required=False)
        publish(form, admin)
        FormSubmission.objects.create(page=form, form_data={"your_name": "Zoë", "message": "Hi ✓"})

        site = Site.objects.get(is_default_site=True)
        Redirect.add_redirect("/old-news", redirect_to=index, site=site)
        Redirect.add_redirect("/elsewhere", redirect_to="https://example.org/", is_permanent=False)

        # Serve every live page once, as visitors would: the image renditions are made.
        client = Client()
        for page in Page.objects.live().filter(depth__gt=1):
            response = client.get(page.url, HTTP_HOST="localhost")
            assert response.status_code == 200, (page.url, response.status_code)
