"""The "longer answer wins" rule of ifl_utils.lengths."""
import math

from ifl_utils.lengths import longer_wins_share


def test_longer_wins_share_counts_pairs_of_unequal_length_only():
    chosen = ["aaaa", "a", "abc", "xy"]
    rejected = ["aa", "aaaa", "abc", "x"]  # longer chosen, shorter chosen, tie, longer chosen
    assert longer_wins_share(chosen, rejected) == 2 / 3


def test_longer_wins_share_is_nan_without_a_length_difference():
    assert math.isnan(longer_wins_share(["ab"], ["cd"]))
