"""Stripe's currencies: which exist, and how many decimals each has in its minor unit.

The sandbox is self-contained (it never imports the rest of the workbench), so these facts
live here and `workbench.money` reads them from here: one list for the whole project.
"""

from __future__ import annotations

ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
OTHER = (
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd bwp byn bzd "
    "cad cdf chf cny cop crc cve czk dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gtq gyd hkd "
    "hnl htg huf idr ils inr isk jmd kes kgs khr kyd kzt lak lbp lkr lrd lsl mad mdl mkd mmk mnt "
    "mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln qar ron rsd rub "
    "sar sbd scr sek sgd shp sle sos srd std szl thb tjs top try ttd twd tzs uah uyu uzs wst xcd "
    "yer zar zmw"
).split()
SUPPORTED = ZERO_DECIMAL | THREE_DECIMAL | frozenset(OTHER)


def exponent(currency: str) -> int:
    """Digits after the decimal point of the major unit: 0 (jpy), 2 (usd) or 3 (kwd)."""
    return 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
