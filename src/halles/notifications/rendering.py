"""Render an e-mail: the marketplace operator's version of it when there is one, else the
files `templates/emails/<template>.subject.txt`, `.txt` and `.html`.

An operator's version (`EmailTemplateOverride`) is three Django templates stored as strings.
They are compiled by `override_engine()`: the project's loaders (so `{% extends
"emails/base.html" %}` and `{% include "emails/_button.html" %}` work), with `i18n` and
`halles` (the `money` filter) built in and only the harmless tag libraries loadable. They are
checked when saved (`check_override`) and, should one still fail when an e-mail is rendered,
the files are used and a warning is logged: an operator's mistake never stops a delivery.
"""

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.utils import get_app_template_dirs
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Tag libraries an operator's template may load (`i18n` and `halles` are built in).
LOADABLE_LIBRARIES = ("i18n", "halles", "l10n", "tz")
BUILT_IN_LIBRARIES = ("i18n", "halles")
PARTS = ("subject", "body_text", "body_html")
SUFFIXES = {"subject": "subject.txt", "body_text": "txt", "body_html": "html"}

# Names an operator's template may not read (a variable or a tag argument mentioning them is
# refused): the e-mail context holds model rows, and these would print secrets.
_FORBIDDEN_NAME = re.compile(r"password|secret|token|session|_state", re.IGNORECASE)
_TAG_OR_VARIABLE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
_STRING_LITERAL = re.compile(r"\"[^\"]*\"|'[^']*'")


@dataclass(frozen=True)
class Sources:
    """The three template sources of one e-mail."""

    subject: str
    body_text: str
    body_html: str

    @classmethod
    def of(cls, override) -> "Sources":
        return cls(override.subject, override.body_text, override.body_html)


@dataclass(frozen=True)
class Rendered:
    subject: str  # one line, without the "[marketplace]" prefix
    body_text: str
    body_html: str
    overridden: bool = False


@functools.cache
def override_engine() -> Engine:
    """The engine for operators' templates: the project's loaders, restricted libraries."""
    project = engines["django"].engine
    libraries = {
        name: path for name, path in project.libraries.items() if name in LOADABLE_LIBRARIES
    }
    return Engine(
        dirs=project.dirs,
        loaders=project.loaders,
        libraries=libraries,
        builtins=[libraries[name] for name in BUILT_IN_LIBRARIES if name in libraries],
        string_if_invalid=project.string_if_invalid,
        file_charset=project.file_charset,
        debug=False,
    )


@functools.cache
def known_templates() -> tuple[str, ...]:
    """Every e-mail the platform sends: `emails/<name>.subject.txt` in a templates folder."""
    project = engines["django"].engine
    folders = [Path(d) for d in project.dirs] + [
        Path(d) for d in get_app_template_dirs("templates")
    ]
    names = set()
    for folder in folders:
        root = folder / "emails"
        for path in root.rglob("*.subject.txt"):
            names.add(path.relative_to(root).as_posix().removesuffix(".subject.txt"))
    return tuple(sorted(names))


def file_sources(template: str) -> Sources:
    """The default (file) sources of an e-mail, to start an operator's version from."""
    engine = override_engine()
    return Sources(
        **{
            part: engine.get_template(f"emails/{template}.{suffix}").source
            for part, suffix in SUFFIXES.items()
        }
    )


def render_email(*, template: str, context: dict, language: str, marketplace) -> Rendered:
    """The e-mail in `language`: the marketplace's version if any and it renders, else the
    files."""
    with translation.override(language):
        override = _override_for(marketplace, template, language)
        if override is not None:
            try:
                return render_sources(Sources.of(override), context)
            except Exception:
                logger.warning(
                    "The %s version of e-mail %s (%s) failed to render; the default is used.",
                    marketplace.slug,
                    template,
                    language,
                    exc_info=True,
                )
        return render_files(template, context)


def render_files(template: str, context: dict) -> Rendered:
    from django.template.loader import render_to_string

    return Rendered(
        subject=_one_line(render_to_string(f"emails/{template}.subject.txt", context)),
        body_text=render_to_string(f"emails/{template}.txt", context),
        body_html=render_to_string(f"emails/{template}.html", context),
    )


def render_sources(sources: Sources, context: dict) -> Rendered:
    """Render an operator's sources in the active language; errors propagate."""
    engine = override_engine()

    def render(source, *, autoescape):
        return engine.from_string(source).render(Context(context, autoescape=autoescape))

    return Rendered(
        subject=_one_line(render(sources.subject, autoescape=False)),
        body_text=render(sources.body_text, autoescape=False),
        body_html=render(sources.body_html, autoescape=True),
        overridden=True,
    )


def check_override(override) -> None:
    """Refuse an operator's version that does not name a known e-mail, does not compile,
    extends or includes a template that does not exist, or reads a forbidden name. Raises a
    ValidationError keyed by field, with the template engine's message."""
    if override.template not in known_templates():
        raise ValidationError({"template": _("There is no such e-mail.")})
    errors = {}
    with translation.override(override.language or None):
        for part in PARTS:
            problem = source_problem(getattr(override, part) or "")
            if problem:
                errors[part] = problem
    if errors:
        raise ValidationError(errors)


def source_problem(source: str) -> str | None:
    """Why this template source cannot be used, or None."""
    for match in _TAG_OR_VARIABLE.finditer(source):
        expression = _STRING_LITERAL.sub("", match.group(1) or match.group(2) or "")
        if _FORBIDDEN_NAME.search(expression) or re.match(r"\s*debug\b", expression):
            return _("This template reads something it may not: %(expression)s") % {
                "expression": match.group(0)
            }
    engine = override_engine()
    try:
        compiled = engine.from_string(source)
    except TemplateSyntaxError as error:
        return _("This template has an error: %(error)s") % {"error": error}
    try:
        # Parents and included templates are loaded when rendering: try with no data.
        compiled.render(Context({}))
    except TemplateDoesNotExist as error:
        return _("This template uses a template that does not exist: %(name)s") % {"name": error}
    except Exception:
        # Other failures depend on the data (a `count` that is not a number without it);
        # should one happen when sending, the default e-mail is used.
        return None
    return None


def _override_for(marketplace, template: str, language: str):
    from .models import EmailTemplateOverride

    if marketplace is None:
        return None
    return EmailTemplateOverride.objects.filter(
        marketplace=marketplace, template=template, language=language
    ).first()


def _one_line(text: str) -> str:
    return " ".join(text.split())
