"""The questions the workbench answers, as pure functions: frames in, frames out.

No I/O, no HTTP, no printing: a notebook, a report or a test hands them frames (from
`wb.frame(...)`) and shows what they return. Money stays integer minor units beside its
currency (settlement currency for balance transactions, presentment for charges); a rate is
a ratio of two integer sums. `workbench.money` makes major units for people, last. Days and
months are the account's, in its timezone.

    charges    volume by day, status, currency and brand; refund rate; top customers
    declines   failed payments by code, network status, brand and funding, per day
    auth       open authorizations by deadline, and the ones that expired
    cards      saved cards about to expire, customers without a default card
    disputes   open disputes and their deadlines, amounts at stake, win rate
    fees       fees by type, by reporting category, by presentment currency; effective rate
    balance    the balance summary and its roll-forward; the balance-history filter
    reconcile  payout reconciliation, itemized, and each payout's check
    orders     the merchant's orders matched to what Stripe charged
    journal    journal entries per payout, through a Stripe clearing account
    deposits   payouts matched to the bank's deposits
    subscriptions  MRR and its movements, churn, ARPU, trials, failed renewals, cohorts,
               MRR against the invoices behind it
"""
