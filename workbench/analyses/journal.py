"""The books: each payout as journal entries through a Stripe clearing account, the way an
accountant (or A2X) books a payment processor.

- Settlement, one balanced entry per payout, dated when Stripe made it (the money left the
  Stripe balance): its items by role (sales, refunds, partial-capture reversals, each fee
  type, disputes and their fees, payouts that came back) against the clearing account,
  which takes the payout's amount.
- Deposit, dated when the payout arrived (paid payouts only): debit the bank, credit the
  clearing account.

So the clearing account holds, at any moment, what is in transit from Stripe to the bank:
payouts made and not yet arrived (a failed one until its funds are swept into a later
payout). Lines are signed integer minor units of the payout's currency: positive is a
debit, negative a credit. Account names come later, at export (workbench.exports), from a
role -> account mapping."""

from __future__ import annotations

import pandas as pd

from workbench.analyses._frames import local_day, lookup

ROLES = (
    "bank",
    "clearing",
    "sales",
    "refunds",
    "partial_capture_reversals",
    "disputes",
    "dispute_fees",
    "stripe_fees",
    "application_fees",
    "fee_tax",
    "other",
)
# Where the gross of each reporting category goes; fees go to their own roles.
GROSS_ROLE = {
    "charge": "sales",
    "refund": "refunds",
    "refund_failure": "refunds",
    "partial_capture_reversal": "partial_capture_reversals",
    "dispute": "disputes",
    "dispute_reversal": "disputes",
    "payout_reversal": "clearing",
    "fee": "stripe_fees",
    "tax": "fee_tax",
}
COLUMNS = ["entry", "kind", "date", "payout", "currency", "role", "amount", "description"]
MONEY = ["amount", "fee", "fee.application_fee", "fee.tax"]


def _lines(items: pd.DataFrame) -> pd.DataFrame:
    """The settlement lines by payout and role: items summed per payout and reporting
    category first (a million items are a few hundred sums), then split into roles."""
    sums = items.groupby(["payout", "reporting_category"], observed=True, as_index=False)[
        MONEY
    ].sum()
    category = sums["reporting_category"].astype("object")
    gross_role = category.map(GROSS_ROLE).fillna("other")
    fee_role = pd.Series("stripe_fees", index=sums.index).where(
        category != "dispute", "dispute_fees"
    )
    own = sums["fee"] - sums["fee.application_fee"] - sums["fee.tax"]  # Stripe's own fee
    parts = [
        pd.DataFrame({"payout": sums["payout"], "role": gross_role, "amount": -sums["amount"]}),
        pd.DataFrame({"payout": sums["payout"], "role": fee_role, "amount": own}),
        pd.DataFrame(
            {
                "payout": sums["payout"],
                "role": "application_fees",
                "amount": sums["fee.application_fee"],
            }
        ),
        pd.DataFrame({"payout": sums["payout"], "role": "fee_tax", "amount": sums["fee.tax"]}),
    ]
    lines = pd.concat(parts, ignore_index=True)
    return lines[lines["amount"] != 0]


def entries(items: pd.DataFrame, payouts: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """The journal lines of `payouts` (settlement and, once paid, deposit entries), from the
    balance transactions each swept (`items`: the store's balance transactions with their
    `payout`, the payout's own transaction excluded or not)."""
    swept = items["payout"].isin(payouts["id"]) & (items["type"] != "payout")
    payout = payouts.set_index("id")
    lines = _lines(items.loc[swept, ["payout", "reporting_category", *MONEY]])
    summed = lines.groupby(["payout", "role"], as_index=False)["amount"].sum()
    clearing = pd.DataFrame(
        {"payout": payouts["id"], "role": "clearing", "amount": payouts["amount"]}
    )
    # A payout whose items do not add up to it (reconcile.checks names it) still gets a
    # balanced entry: the difference goes to `other`, for a person to look at.
    imbalance = pd.concat([summed, clearing]).groupby("payout")["amount"].sum()
    imbalance = imbalance[imbalance != 0]
    unexplained = pd.DataFrame(
        {"payout": imbalance.index, "role": "other", "amount": -imbalance.to_numpy()}
    )
    settlement = pd.concat([summed, clearing, unexplained], ignore_index=True)
    settlement = settlement.groupby(["payout", "role"], as_index=False)["amount"].sum()
    settlement = settlement[settlement["amount"] != 0]
    settlement["kind"] = "settlement"
    settlement["date"] = lookup(settlement["payout"], local_day(payout["created"], timezone))
    paid = payouts[payouts["status"] == "paid"]
    deposit = pd.concat(
        [
            pd.DataFrame({"payout": paid["id"], "role": "bank", "amount": paid["amount"]}),
            pd.DataFrame({"payout": paid["id"], "role": "clearing", "amount": -paid["amount"]}),
        ],
        ignore_index=True,
    )
    deposit["kind"] = "deposit"
    deposit["date"] = lookup(deposit["payout"], local_day(payout["arrival_date"], timezone))
    result = pd.concat([settlement, deposit], ignore_index=True)
    result["currency"] = lookup(result["payout"], payout["currency"]).astype("object")
    result["entry"] = result["payout"] + ":" + result["kind"]
    result["description"] = (
        result["kind"].map(
            {"settlement": "Stripe payout settled", "deposit": "Stripe payout deposited"}
        )
        + " "
        + result["payout"]
    )
    result["role"] = pd.Categorical(result["role"], categories=ROLES)
    result = result.sort_values(["date", "entry", "role"], ignore_index=True)
    result["role"] = result["role"].astype("object")
    return result[COLUMNS].astype({"amount": "int64"})


def balance_check(lines: pd.DataFrame) -> pd.DataFrame:
    """Per entry: debits, credits, and whether they are equal (they must be, always)."""
    debit = lines["amount"].where(lines["amount"] > 0, 0)
    credit = -lines["amount"].where(lines["amount"] < 0, 0)
    frame = lines.assign(debit=debit, credit=credit)
    result = frame.groupby(["entry", "currency"], as_index=False)[["debit", "credit"]].sum()
    result["balanced"] = result["debit"] == result["credit"]
    return result


def account_balances(lines: pd.DataFrame, before) -> pd.DataFrame:
    """Each role's balance per currency from the entries dated before `before` (a date)."""
    earlier = lines[lines["date"] < before]
    return earlier.groupby(["role", "currency"], as_index=False)["amount"].sum()


def clearing_balance(lines: pd.DataFrame, before) -> dict[str, int]:
    """What the clearing account holds per currency before `before` (a date)."""
    found = account_balances(lines, before)
    found = found[found["role"] == "clearing"]
    return {str(c): int(a) for c, a in zip(found["currency"], found["amount"], strict=True)}


def totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Debits and credits per role and currency: the journal's trial balance."""
    debit = lines["amount"].where(lines["amount"] > 0, 0)
    credit = -lines["amount"].where(lines["amount"] < 0, 0)
    frame = lines.assign(debit=debit, credit=credit)
    return frame.groupby(["role", "currency"], as_index=False)[["debit", "credit"]].sum()
