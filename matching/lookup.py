"""Set-based order lookups for a whole batch: integer merges and sorted searches, no scans.

The invoice frame handed in has one row per invoice with the columns
``inv_pos`` (int), ``number_norm`` (str, "" when no order number was printed), ``party_key`` (str),
``lo_units`` / ``hi_units`` (int64 amount window, -1 when no amount) and ``issue_day``
(datetime64[D], NaT when unknown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOOKBACK_DAYS = 365   # an order may be up to a year older than the invoice
LOOKAHEAD_DAYS = 7    # or dated a few days after it (order confirmed late)
_UNIT_BITS = 43       # amounts up to 2**43 / 10,000 ≈ 879 million per order in the composite key
_UNIT_MAX = (1 << _UNIT_BITS) - 1


def joint_codes(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Factorise two string columns together, so equal strings get the same integer."""
    codes, _ = pd.factorize(pd.concat([left, right], ignore_index=True).astype(object))
    return codes[: len(left)], codes[len(left):]


def number_hits(headers: pd.DataFrame, inv: pd.DataFrame) -> pd.DataFrame:
    """(inv_pos, order_code, same_party) for every order whose normalised number was printed."""
    inv_num, ord_num = joint_codes(inv["number_norm"], headers["number_norm"])
    inv_party, ord_party = joint_codes(inv["party_key"], headers["party_key"])
    left = pd.DataFrame({"inv_pos": inv["inv_pos"].to_numpy(), "num": inv_num, "ip": inv_party})
    left = left[inv["number_norm"].to_numpy() != ""]
    right = pd.DataFrame({"order_code": headers["order_code"].to_numpy(), "num": ord_num,
                          "op": ord_party})
    hits = left.merge(right, on="num", how="inner")
    hits["same_party"] = hits["ip"].to_numpy() == hits["op"].to_numpy()
    out: pd.DataFrame = hits[["inv_pos", "order_code", "same_party"]]
    return out


def amount_candidates(headers: pd.DataFrame, inv: pd.DataFrame) -> pd.DataFrame:
    """(inv_pos, order_code) for orders of the same counterparty whose total, unbilled rest or
    received-but-unbilled rest falls in the invoice's amount window and whose date is near the
    invoice date."""
    inv_party, ord_party = joint_codes(inv["party_key"], headers["party_key"])
    has_amount = inv["lo_units"].to_numpy() >= 0
    pieces = [
        _window_pairs(ord_party, headers[column].to_numpy(), inv_party, inv, has_amount)
        for column in ("total_units", "remaining_units", "received_units")
    ]
    pairs = pd.concat(pieces, ignore_index=True).drop_duplicates()
    return date_filter(pairs, headers, inv)


def _composite(party: np.ndarray, units: np.ndarray) -> np.ndarray:
    clipped = np.clip(units.astype(np.int64), 0, _UNIT_MAX)
    return (party.astype(np.int64) << _UNIT_BITS) | clipped


def _window_pairs(
    ord_party: np.ndarray, units: np.ndarray, inv_party: np.ndarray, inv: pd.DataFrame,
    mask: np.ndarray,
) -> pd.DataFrame:
    order_keys = _composite(ord_party, units)
    perm = np.argsort(order_keys, kind="stable")
    sorted_keys = order_keys[perm]
    lo = np.searchsorted(sorted_keys, _composite(inv_party, inv["lo_units"].to_numpy()), "left")
    hi = np.searchsorted(sorted_keys, _composite(inv_party, inv["hi_units"].to_numpy()), "right")
    counts = np.where(mask, hi - lo, 0)
    inv_rows = np.repeat(np.arange(len(inv)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(lo, counts) + offsets
    return pd.DataFrame({"inv_pos": inv["inv_pos"].to_numpy()[inv_rows],
                         "order_code": perm[positions], "row": inv_rows})


def date_filter(
    pairs: pd.DataFrame, headers: pd.DataFrame, inv: pd.DataFrame,
) -> pd.DataFrame:
    """Keep the (inv_pos, order_code) pairs whose order date is near the issue date of the
    invoice in row `row` of `inv`; either date unknown keeps the pair."""
    order_day = headers["order_day"].to_numpy()[pairs["order_code"].to_numpy()]
    issue = inv["issue_day"].to_numpy()[pairs["row"].to_numpy()]
    earliest = issue - np.timedelta64(LOOKBACK_DAYS, "D")
    latest = issue + np.timedelta64(LOOKAHEAD_DAYS, "D")
    unknown = np.isnat(issue) | np.isnat(order_day)
    keep = unknown | ((order_day >= earliest) & (order_day <= latest))
    out: pd.DataFrame = pairs.loc[keep, ["inv_pos", "order_code"]].reset_index(drop=True)
    return out
