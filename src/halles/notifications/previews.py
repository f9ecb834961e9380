"""Previews of the e-mails with realistic data, for the operator editing them.

Notifications knows no domain: the apps that send e-mails register a provider of sample
contexts in their `AppConfig.ready()`:

    register_preview_provider("orders/", preview_context, missing=_("No order yet..."))

`provider(template, marketplace)` returns the context the e-mail `template` would be
rendered with on `marketplace` (built from real rows: the marketplace's latest order), or
None when the marketplace has nothing to build one from; `missing` then says so.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from halles.core.errors import DomainError

from .rendering import Rendered, Sources, render_files, render_sources


class NoPreviewSample(DomainError):
    code = "no_preview_sample"
    default_message = _("There is no data to preview this e-mail with.")


@dataclass(frozen=True)
class _Provider:
    prefix: str
    provide: Callable[[str, object], dict | None]
    missing: str


_providers: list[_Provider] = []


def register_preview_provider(prefix: str, provider, *, missing) -> None:
    """Let `provider` build the sample contexts of the e-mails whose name starts with
    `prefix` (registering the same prefix again replaces the provider)."""
    _providers[:] = [p for p in _providers if p.prefix != prefix]
    _providers.append(_Provider(prefix, provider, missing))


def preview_context(*, template: str, marketplace) -> dict:
    """The sample context of `template` on `marketplace`; NoPreviewSample when none."""
    for provider in sorted(_providers, key=lambda p: -len(p.prefix)):
        if template.startswith(provider.prefix):
            context = provider.provide(template, marketplace)
            if context is None:
                raise NoPreviewSample(provider.missing)
            return {**context, "marketplace": marketplace, "site_url": settings.SITE_URL}
    raise NoPreviewSample()


def email_preview(
    *, template: str, language: str, marketplace, sources: Sources | None = None
) -> Rendered:
    """Render `sources` (an operator's version, saved or not) or, without them, the default
    files, in `language` with the sample context. Errors in `sources` propagate (the preview
    shows them); NoPreviewSample when there is no sample."""
    context = preview_context(template=template, marketplace=marketplace)
    with translation.override(language):
        if sources is None:
            return render_files(template, context)
        return render_sources(sources, context)
