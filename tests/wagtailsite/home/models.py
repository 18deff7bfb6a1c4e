"""The page types and the snippet of the test site: a StreamField page with tags,
images, documents and a snippet author; a form page; a home and an index page."""

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail import blocks
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import DraftStateMixin, Page, RevisionMixin
from wagtail.snippets.models import register_snippet


class HomePage(Page):
    body = RichTextField(blank=True)


class BlogIndexPage(Page):
    intro = RichTextField(blank=True)

    subpage_types = ["home.BlogPage"]


class Author(DraftStateMixin, RevisionMixin, models.Model):
    name = models.CharField(max_length=100)
    bio = models.TextField(blank=True)
    _revisions = GenericRelation("wagtailcore.Revision", related_query_name="author")

    @property
    def revisions(self):
        return self._revisions

    def __str__(self):
        return self.name


register_snippet(Author)


class BlogPageTag(TaggedItemBase):
    content_object = ParentalKey(
        "home.BlogPage", related_name="tagged_items", on_delete=models.CASCADE
    )


class BlogPage(Page):
    date = models.DateField("Post date")
    rating = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    author = models.ForeignKey(Author, null=True, blank=True, on_delete=models.SET_NULL)
    feed_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = ClusterTaggableManager(through=BlogPageTag, blank=True)
    body = StreamField([
        ("heading", blocks.CharBlock()),
        ("paragraph", blocks.RichTextBlock()),
        ("image", ImageChooserBlock()),
        ("document", DocumentChooserBlock()),
        ("related", blocks.PageChooserBlock()),
        ("quote", blocks.StructBlock([
            ("text", blocks.TextBlock()),
            ("source", blocks.CharBlock(required=False)),
        ])),
        ("links", blocks.ListBlock(blocks.URLBlock())),
    ], blank=True)

    parent_page_types = ["home.BlogIndexPage"]


class FormField(AbstractFormField):
    page = ParentalKey("home.FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    intro = RichTextField(blank=True)
    thank_you_text = RichTextField(blank=True)
