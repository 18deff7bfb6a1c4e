"""The distribution as a user gets it: a wheel built from this checkout and
installed into a new virtualenv has its commands and its format, and dumps
and restores a site, run from outside the source tree.

It makes a virtualenv and installs Django into it from the package index, so
it runs once per CI run (``make test-wheel`` sets PYSERIALIZER_TEST_WHEEL=1),
not in every backend's run of the suite.
"""

import email.parser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import django
import pytest

import pyserializer

pytestmark = pytest.mark.skipif(
    os.environ.get("PYSERIALIZER_TEST_WHEEL") != "1",
    reason="builds and installs a wheel: run by make test-wheel, once per CI run",
)

REPO = Path(__file__).resolve().parent.parent
DISTRIBUTION = "django-pyserializer"
COMMANDS = ["dump2py", "pydump", "restore_dump", "reseal_dump", "loaddata", "dumpdata"]

# What a checkout holds that a build must not see: virtualenvs, earlier builds.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", "work", "_build",
    ".pytest_cache", ".hypothesis", "*.sqlite3",
)

SETTINGS = """\
import os

SECRET_KEY = "test-wheel"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "pyserializer"]
SERIALIZATION_MODULES = {"py": "pyserializer"}
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ["WHEEL_SITE_DATABASE"]}}
"""

FILL = """\
from django.contrib.auth.models import Group, Permission, User
group = Group.objects.create(name="editors")
group.permissions.set(Permission.objects.filter(codename__startswith="change_"))
user = User.objects.create_user("ada", "ada@example.com", "secret", first_name="Ada \\u00e9")
user.groups.add(group)
"""

# Where the installed copy's package, commands and serializer come from.
PROBE = """\
import json, sys
import django
django.setup()
from django.core import serializers
from django.core.management import get_commands
import pyserializer
commands = get_commands()
print(json.dumps({
    "package": pyserializer.__file__,
    "commands": {name: commands.get(name) for name in %r},
    "format": sys.modules[serializers.get_serializer("py").__module__].__file__,
}))
""" % COMMANDS


def run(args, **kwargs):
    result = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, "%s failed:\n%s%s" % (
        " ".join(map(str, args)), result.stdout, result.stderr)
    return result.stdout


def build_wheel(tmp_path):
    """A wheel of a copy of the checkout, so that the build leaves nothing in it."""
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--wheel-dir", tmp_path / "wheels", source])
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    assert wheel.name.startswith("django_pyserializer-%s-" % pyserializer.__version__)
    return wheel


def fresh_venv(tmp_path, wheel):
    """A new virtualenv with the wheel and the Django that runs these tests."""
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", wheel, "Django==%s" % django.get_version()])
    return venv


def site_environment(site, venv, database):
    """Only the site's directory and the virtualenv: nothing from the checkout."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VIRTUAL_ENV")}
    env.update(PATH=os.pathsep.join([str(venv / "bin"), env.get("PATH", "")]),
               PYTHONPATH=str(site), PYTHONNOUSERSITE="1",
               DJANGO_SETTINGS_MODULE="wheel_site_settings", WHEEL_SITE_DATABASE=str(database))
    return env


def test_the_wheel_installs_and_dumps_and_restores_a_site(tmp_path):
    venv = fresh_venv(tmp_path, build_wheel(tmp_path))
    python, django_admin = venv / "bin" / "python", venv / "bin" / "django-admin"
    site = tmp_path / "site"
    site.mkdir()
    (site / "wheel_site_settings.py").write_text(SETTINGS)
    original = site_environment(site, venv, site / "original.sqlite3")
    restored = site_environment(site, venv, site / "restored.sqlite3")

    shown = email.parser.Parser().parsestr(
        run([python, "-m", "pip", "show", DISTRIBUTION], cwd=site, env=original))
    assert shown["Name"] == DISTRIBUTION
    assert shown["Version"] == pyserializer.__version__
    assert Path(shown["Location"]).resolve().is_relative_to(venv.resolve())

    installed = json.loads(run([python, "-c", PROBE], cwd=site, env=original))
    assert Path(installed["package"]).resolve().is_relative_to(venv.resolve()), installed
    assert Path(installed["format"]).resolve().is_relative_to(venv.resolve()), installed
    assert installed["commands"] == {name: "pyserializer" for name in COMMANDS}

    run([django_admin, "migrate", "--verbosity", "0"], cwd=site, env=original)
    run([django_admin, "shell", "--command", FILL], cwd=site, env=original)
    run([django_admin, "dump2py", site / "backup", "--noinput", "--verbosity", "0"],
        cwd=site, env=original)
    run([django_admin, "restore_dump", site / "backup", "--check"], cwd=site, env=restored)
    run([django_admin, "restore_dump", site / "backup", "--noinput", "--verbosity", "0"],
        cwd=site, env=restored)

    def rows(env):
        return json.loads(run([django_admin, "dumpdata", "contenttypes", "auth", "--format",
                               "json"], cwd=site, env=env))

    before = rows(original)
    assert any(row["model"] == "auth.user" and row["fields"]["first_name"] == "Ada \u00e9"
               for row in before)
    assert rows(restored) == before
