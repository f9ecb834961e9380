"""Each marketplace's own versions of the e-mails: used when sending (e-mail and notice),
checked when saved, never a cause of a lost e-mail, edited and previewed in the
back-office by the marketplace's operators only."""

import logging

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from halles.notifications.models import Email, EmailTemplateOverride, Notice
from halles.notifications.rendering import file_sources, known_templates

from ..factories import MarketplaceFactory, OperatorFactory
from ..orders.conftest import buy

pytestmark = pytest.mark.django_db

TEMPLATE = "orders/seller_new_order"
ADMIN = "/admin/notifications/emailtemplateoverride/"


@pytest.fixture(autouse=True)
def in_english():
    """The messages these tests read are the English ones."""
    with translation.override("en"):
        yield


@pytest.fixture
def operator(marketplace):
    return OperatorFactory(email="operator@example.test", marketplaces=[marketplace], language="en")


def override(marketplace, language="fr", template=TEMPLATE, **texts):
    sources = {
        "subject": "{% autoescape off %}À traiter : {{ shop_order.reference }}{% endautoescape %}",
        "body_text": "Bonjour {{ shop.name }},\n\nNouvelle commande {{ shop_order.reference }} "
        "pour {{ shop_order.total_cents|money }}.\n\n{{ link }}",
        "body_html": '{% extends "emails/base.html" %}{% block body %}<p>Commande '
        "<b>{{ shop_order.reference }}</b> de {{ shop.name }}</p>{% endblock %}",
        **texts,
    }
    return EmailTemplateOverride.objects.create(
        marketplace=marketplace, template=template, language=language, **sources
    )


def test_the_marketplaces_version_is_sent_and_titles_the_notice(world, run_on_commit, outbox):
    world.bookseller.language = "en"
    world.bookseller.save()
    override(world.marketplace, language="fr")
    override(MarketplaceFactory(), language="en")  # another marketplace's: not used here

    with run_on_commit():
        order = buy(world, [(world.bread, 1), (world.novel, 1)])

    bakery_order = order.shop_orders.get(shop=world.bakery)
    email = Email.objects.get(recipient=world.baker)
    assert email.subject == f"[{world.marketplace.name}] À traiter : {bakery_order.reference}"
    assert email.body_text.startswith(f"Bonjour {world.bakery.name},")
    assert f"Nouvelle commande {bakery_order.reference} pour 7,50\xa0€" in email.body_text
    assert f"<b>{bakery_order.reference}</b>" in email.body_html
    assert world.marketplace.name in email.body_html  # the file base it extends
    notice = Notice.objects.get(user=world.baker)
    assert notice.title == f"À traiter : {bakery_order.reference}"
    assert notice.body.startswith(f"Nouvelle commande {bakery_order.reference}")
    # The English-speaking bookseller gets the default English e-mail.
    english = Email.objects.get(recipient=world.bookseller)
    assert english.subject.endswith("to accept") and "À traiter" not in english.subject
    sent = [m for m in outbox if m.to == [world.baker.email]]
    assert sent and sent[0].subject == email.subject


def test_a_version_that_fails_when_rendering_falls_back_to_the_default(
    world, run_on_commit, outbox, caplog
):
    # Saved without the checks (e.g. a template it includes was removed since).
    override(world.marketplace, body_text='{% include "emails/removed.txt" %}')

    with (
        caplog.at_level(logging.WARNING, logger="halles.notifications.rendering"),
        run_on_commit(),
    ):
        order = buy(world, [(world.bread, 1)])

    email = Email.objects.get(recipient=world.baker)
    reference = order.shop_orders.get().reference
    # The baker's default e-mail (the files, in French), not the broken version.
    assert reference in email.subject and "À traiter" not in email.subject
    assert len([m for m in outbox if m.to == [world.baker.email]]) == 1
    assert "failed to render; the default is used" in caplog.text


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("subject", "{% if %}", "This template has an error"),
        ("body_text", "{% blocktranslate %}Hello {{ user.name }}", "This template has an error"),
        ("body_html", "{% load admin_urls %}", "This template has an error"),
        ("body_html", '{% extends "emails/nowhere.html" %}', "does not exist"),
        ("body_text", "{{ user.password }}", "may not"),
        ("body_text", "{% debug %}", "may not"),
    ],
)
def test_a_version_that_does_not_compile_is_refused(marketplace, field, source, message):
    item = EmailTemplateOverride(
        marketplace=marketplace,
        template=TEMPLATE,
        language="en",  # the checks speak the version's language
        **{**vars(file_sources(TEMPLATE)), field: source},
    )
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert list(refused.value.message_dict) == [field]
    assert message in refused.value.message_dict[field][0]


def test_the_default_texts_and_every_known_email_compile(marketplace):
    assert TEMPLATE in known_templates() and "accounts/password_reset" in known_templates()
    for template in known_templates():
        item = EmailTemplateOverride(
            marketplace=marketplace,
            template=template,
            language="en",
            **vars(file_sources(template)),
        )
        item.full_clean()  # the default, used as a start, passes the checks


# --- The back-office ----------------------------------------------------------------------------


def form_data(marketplace, **changes):
    return {
        "marketplace": marketplace.pk,
        "template": TEMPLATE,
        "language": "fr",
        **vars(file_sources(TEMPLATE)),
        **changes,
    }


def test_an_operator_starts_from_the_default_and_saves_their_version(client, marketplace, operator):
    client.force_login(operator)

    page = client.get(f"{ADMIN}add/").content.decode()
    assert 'name="_default"' in page and 'name="_preview"' in page
    response = client.post(
        f"{ADMIN}add/",
        {"marketplace": marketplace.pk, "template": TEMPLATE, "language": "en", "_default": "1"},
    )
    assert response.status_code == 302 and "_default=1" in response["Location"]
    form = client.get(response["Location"]).context["adminform"].form
    assert form.initial["body_html"] == file_sources(TEMPLATE).body_html
    assert form.initial["subject"] == file_sources(TEMPLATE).subject
    assert str(form.initial["marketplace"]) == str(marketplace.pk)

    response = client.post(f"{ADMIN}add/", form_data(marketplace, subject="Commande !"))
    assert response.status_code == 302
    saved = EmailTemplateOverride.objects.get()
    assert (saved.subject, saved.updated_by) == ("Commande !", operator)

    # Start again from the default on the saved version: the form shows the default.
    change = client.get(f"{ADMIN}{saved.pk}/change/?_default=1")
    assert change.context["adminform"].form.initial["subject"] == file_sources(TEMPLATE).subject
    saved.refresh_from_db()
    assert saved.subject == "Commande !"  # nothing saved until the operator saves


def test_the_form_refuses_a_template_error_clearly(client, marketplace, operator):
    client.force_login(operator)
    response = client.post(
        f"{ADMIN}add/", form_data(marketplace, body_text="{% for x in %}", language="en")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "body_text" in errors and "This template has an error" in errors["body_text"][0]
    assert not EmailTemplateOverride.objects.exists()

    override(marketplace)
    response = client.post(f"{ADMIN}add/", form_data(marketplace))
    assert "already has its own version" in response.content.decode()


def test_the_preview_renders_the_default_with_the_latest_order(
    client, world, operator, run_on_commit
):
    with run_on_commit():
        order = buy(world, [(world.bread, 2)])
    reference = order.shop_orders.get().reference
    client.force_login(operator)

    url = f"{ADMIN}preview/?marketplace={world.marketplace.pk}&template={TEMPLATE}&language=en"
    response = client.get(url)

    assert response.status_code == 200
    rendered = response.context["rendered"]
    assert rendered.subject == f"New order {reference} to accept"
    assert "2 × " in rendered.body_text and reference in rendered.body_html
    assert response.context["is_default"] is True
    page = response.content.decode()
    assert f"[{world.marketplace.name}] New order {reference} to accept" in page
    assert "srcdoc=" in page


def test_the_preview_renders_a_saved_or_an_unsaved_version(client, world, operator, run_on_commit):
    with run_on_commit():
        order = buy(world, [(world.bread, 1)])
    reference = order.shop_orders.get().reference
    saved = override(world.marketplace)
    client.force_login(operator)

    response = client.get(f"{ADMIN}{saved.pk}/preview/")
    assert response.context["rendered"].subject == f"À traiter : {reference}"
    assert response.context["is_default"] is False

    unsaved = form_data(world.marketplace, subject="Brouillon {{ shop_order.reference }}")
    response = client.post(f"{ADMIN}preview/", {**unsaved, "_preview": "1"})
    assert response.context["rendered"].subject == f"Brouillon {reference}"
    broken = client.post(f"{ADMIN}preview/", form_data(world.marketplace, subject="{% if %}"))
    # From the change form (marketplace, e-mail and language are not inputs there).
    edited = {"subject": "Modifié {{ shop_order.reference }}", "body_text": "x", "body_html": "y"}
    response = client.post(f"{ADMIN}{saved.pk}/preview/", edited)
    assert response.context["rendered"].subject == f"Modifié {reference}"
    change_form = client.get(f"{ADMIN}{saved.pk}/change/").content.decode()
    assert f'formaction="{ADMIN}{saved.pk}/preview/"' in change_form
    assert "cannot be rendered" in str(broken.context["error"])

    canceled = client.get(
        f"{ADMIN}preview/?marketplace={world.marketplace.pk}"
        "&template=orders/buyer_canceled&language=fr"
    )
    assert reference in canceled.context["rendered"].subject


def test_every_order_email_previews_with_a_placed_order(world, run_on_commit):
    from halles.notifications.previews import email_preview

    with run_on_commit():
        buy(world, [(world.bread, 1)])
    for template in (t for t in known_templates() if t.startswith("orders/")):
        for language in ("fr", "en"):
            rendered = email_preview(
                template=template, language=language, marketplace=world.marketplace
            )
            assert rendered.subject and rendered.body_text and rendered.body_html, template


def test_the_preview_says_when_there_is_no_order_yet(client, marketplace, operator):
    client.force_login(operator)
    response = client.get(
        f"{ADMIN}preview/?marketplace={marketplace.pk}&template={TEMPLATE}&language=fr"
    )
    assert response.status_code == 200 and "rendered" not in response.context
    assert "no order on this marketplace yet" in str(response.context["error"])
    other = client.get(
        f"{ADMIN}preview/?marketplace={marketplace.pk}&template=accounts/verify_email"
    )
    assert "no data to preview" in str(other.context["error"])


def test_an_operator_of_another_marketplace_cannot_see_or_edit_the_versions(
    client, marketplace, operator
):
    mine = override(marketplace)
    elsewhere = MarketplaceFactory()
    theirs = override(elsewhere)
    client.force_login(operator)

    listed = list(client.get(ADMIN).context["cl"].queryset)
    assert listed == [mine]
    assert client.get(f"{ADMIN}{theirs.pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"{ADMIN}{theirs.pk}/preview/").status_code == 404
    response = client.post(f"{ADMIN}{theirs.pk}/change/", form_data(elsewhere, subject="x"))
    theirs.refresh_from_db()
    assert theirs.subject != "x"
    preview = client.get(f"{ADMIN}preview/?marketplace={elsewhere.pk}&template={TEMPLATE}")
    assert "rendered" not in preview.context
    add = client.get(f"{ADMIN}add/").context["adminform"].form
    assert list(add.fields["marketplace"].queryset) == [marketplace]
    response = client.post(f"{ADMIN}add/", form_data(elsewhere, language="en"))
    assert (
        response.status_code == 200 and "marketplace" in response.context["adminform"].form.errors
    )
    assert not EmailTemplateOverride.objects.filter(marketplace=elsewhere, language="en").exists()


def test_the_service_refuses_an_operator_of_another_marketplace(marketplace):
    from halles.core.errors import NotAllowed
    from halles.notifications.services import template_override_save

    stranger = OperatorFactory(marketplaces=[MarketplaceFactory()])
    item = EmailTemplateOverride(
        marketplace=marketplace, template=TEMPLATE, language="fr", **vars(file_sources(TEMPLATE))
    )
    with pytest.raises(NotAllowed):
        template_override_save(override=item, actor=stranger)
    assert item.pk is None


def test_the_email_log_shows_and_filters_by_reference(client, world, operator, run_on_commit):
    with run_on_commit():
        first = buy(world, [(world.bread, 1)])
        buy(world, [(world.novel, 1)])
    client.force_login(operator)
    reference = first.shop_orders.get().reference

    response = client.get(f"/admin/notifications/email/?reference={reference}")
    listed = list(response.context["cl"].queryset)
    assert [e.template for e in listed] == ["orders/seller_new_order"]
    both = client.get(f"/admin/notifications/email/?reference={first.reference},{reference}")
    assert len(both.context["cl"].queryset) == 2
    assert reference in response.content.decode()
    search = client.get(f"/admin/notifications/email/?q={first.reference}")
    assert {e.template for e in search.context["cl"].queryset} == {
        "orders/buyer_placed",
        "orders/seller_new_order",  # its subject names the shop order, REF-A
    }


def test_the_preview_page_escapes_what_it_shows(client, world, operator, run_on_commit):
    with run_on_commit():
        buy(world, [(world.bread, 1)])
    client.force_login(operator)
    texts = {
        "subject": "<b>S</b>",
        "body_text": "<script>alert('text')</script>",
        "body_html": '<p onclick="x">html</p>',
    }
    page = client.post(f"{ADMIN}preview/", form_data(world.marketplace, **texts)).content
    page = page.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert 'srcdoc="&lt;p onclick=&quot;x&quot;&gt;html&lt;/p&gt;"' in page
    assert "<b>S</b>" not in page
