"""The PostgreSQL backend's two plan choices, with the planner's estimates and the costs
measured on the million-offer benchmark (docs/performance.md, "Search")."""

import pytest

from halles.catalog.search.postgres import index_is_cheaper, walk_is_shorter

OFFERS = 915_741
WINDOW = 1_001


@pytest.mark.parametrize(
    ("case", "matches", "candidates", "through_the_index"),
    [
        # a common word in a large category, price and stock filters: the scan read 86,000
        # rows (48-64 ms), the index 23,000 ids and 2,500 rows (17 ms)
        ("common word, category", 9_157, 23_775, True),
        # a commoner word in the largest category: the index gave 67,000 ids (35-53 ms), the
        # scan needs about 34,000 rows
        ("commoner word, largest category", 26_627, 67_367, False),
        # a common word alone: the scan finds its matches in the first 11,000 rows
        ("common word alone", 81_039, 88_232, False),
        ("rare word", 168, 170, True),
        ("nothing matches", 0, 0, True),
    ],
)
def test_the_window_reads_the_index_when_the_scan_would_read_more(
    case, matches, candidates, through_the_index
):
    assert index_is_cheaper(matches, candidates, OFFERS, WINDOW) is through_the_index


@pytest.mark.parametrize(
    ("share", "walk"),
    [
        (0.05, True),  # 5 % of the offers: 480 rows walked against 46,000 matches read
        (0.002, False),  # 12,000 rows walked against 1,800 matches read
        (0.0, False),  # no match of the tier in the window: the index
    ],
)
def test_a_relevance_tier_walks_the_newest_offers_only_when_shorter(share, walk):
    assert walk_is_shorter(share, 24, OFFERS) is walk
