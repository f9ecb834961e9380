"""Drop the single-column indexes of Offer.shop and Product.marketplace.

Each leads a unique constraint already: (shop_id, sku) and (marketplace_id, gtin) answer
every lookup by shop or by marketplace. With both, the planner could not tell them apart
when its statistics were taken before a shop's first import (both estimated one row): each
SKU of an import chunk was then looked up through the shop's index, reading all the shop's
offers (docs/performance.md, "Offer import"). One index fewer per offer written, too.

The database side is a DROP INDEX (the names are Django's, the same on SQLite and
PostgreSQL): an AlterField would make SQLite copy both tables into new ones, triggers of the
search index included.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("catalog_offer_shop_id_58b784ee", "catalog_offer", "shop_id"),
    ("catalog_product_marketplace_id_9789deac", "catalog_product", "marketplace_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_pg_search_title_tokens"),
        ("marketplaces", "0002_marketplace_event"),
        ("shops", "0004_deliverymode_relay_network"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="offer",
                    name="shop",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="offers",
                        to="shops.shop",
                        verbose_name="shop",
                    ),
                ),
                migrations.AlterField(
                    model_name="product",
                    name="marketplace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="products",
                        to="marketplaces.marketplace",
                        verbose_name="marketplace",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}",
                    reverse_sql=f"CREATE INDEX {name} ON {table} ({column})",
                )
                for name, table, column in INDEXES
            ],
        )
    ]
