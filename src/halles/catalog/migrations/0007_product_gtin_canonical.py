"""Products' GTINs in their canonical form (`validation.canonical_gtin`, frozen here): GS1
reads every GTIN as its 14-digit form padded with zeros; Halles keeps that form without its
first digit when it is a 0 (13 digits), whole otherwise. A UPC-A 036000291452 becomes
0036000291452, an EAN-8 12345670 becomes 0000012345670, a GTIN-14 00036000291452 becomes
0036000291452; EAN-13 codes (nearly all of them) and GTIN-14s with an indicator digit do not
change.

Left unchanged: values that are not a GTIN of 8 to 14 digits with a valid check digit (typed
in before the check existed), and products that would collide on the marketplace's unique
(marketplace, gtin): when two products are the same GTIN written two ways (036000291452 and
0036000291452), both keep their values, and the migration does not fail. An operator merges
them by hand: the products left are those whose GTIN has neither 13 digits nor 14 starting
with 1 to 9. Not reversed: the canonical forms are valid GTINs as they are.
"""

from collections import defaultdict

from django.db import migrations
from django.db.models.functions import Length


def canonical(value: str) -> str | None:
    if not (value.isascii() and value.isdigit() and 8 <= len(value) <= 14):
        return None
    padded = value.zfill(14)
    digits = [int(char) for char in padded]
    total = sum(
        digit * (3 if position % 2 == 0 else 1) for position, digit in enumerate(digits[:-1])
    )
    if (10 - total % 10) % 10 != digits[-1]:
        return None
    return padded[1:] if padded[0] == "0" else padded


def normalise(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    # Canonical values have 13 digits, or 14 not starting with 0: the others are candidates.
    candidates = (
        Product.objects.filter(gtin__isnull=False)
        .annotate(size=Length("gtin"))
        .exclude(size=13)
        .values_list("pk", "marketplace_id", "gtin")
    )
    wanted = defaultdict(list)  # (marketplace, canonical GTIN) -> products that would take it
    for pk, marketplace_id, gtin in candidates.iterator(chunk_size=2000):
        key = canonical(gtin)
        if key is not None and key != gtin:
            wanted[(marketplace_id, key)].append(pk)
    for (marketplace_id, gtin), pks in wanted.items():
        if len(pks) > 1:
            continue  # two products, one GTIN: both left as they are
        if Product.objects.filter(marketplace_id=marketplace_id, gtin=gtin).exists():
            continue  # the canonical form is another product's already
        Product.objects.filter(pk=pks[0]).update(gtin=gtin)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_offerimport_heartbeat"),
    ]

    operations = [
        migrations.RunPython(normalise, migrations.RunPython.noop, elidable=True),
    ]
