"""The models as migration 0005 leaves them."""

from django.conf import settings
from django.db import models


class Team(models.Model):
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True)


class Player(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    nickname = models.CharField(max_length=50, blank=True)
    joined = models.DateTimeField(null=True)
    team = models.ForeignKey(Team, models.SET_NULL, null=True)
    status = models.CharField(max_length=20, default="active")


class Note(models.Model):
    player = models.ForeignKey(Player, models.CASCADE, related_name="notes")
    text = models.TextField()
