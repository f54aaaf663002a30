"""Payouts matched to bank deposits, on a statement worked out by hand (October 2026:
the 5th is a Monday; the 10th and 11th a weekend)."""

from __future__ import annotations

import pytest

from tests.analyses.handmade import Handmade, at, payout
from workbench.analyses import deposits
from workbench.imports import FileError, read_bank_statement

STATEMENT = """date,description,amount,currency
2026-10-05,STRIPE TRANSFER,100.00,USD
2026-10-07,STRIPE TRANSFER,74.50,USD
2026-10-09,STRIPE TRANSFER,50.00,USD
2026-10-10,STRIPE PAYOUT,33.00,USD
2026-10-12,STRIPE TRANSFER,60.00,USD
2026-10-12,SALARY ACME,500.00,USD
2026-10-13,STRIPE TRANSFER,41.00,USD
2026-10-13,STRIPE TRANSFER,40.00,USD
2026-10-14,RENT,-900.00,USD
"""


@pytest.fixture
def matched(tmp_path):
    made = Handmade(tmp_path).add(
        "payouts",
        payout("po_1", at(2026, 10, 2), 10000, at(2026, 10, 5, 0)),
        payout("po_2", at(2026, 10, 5), 5000, at(2026, 10, 6, 0)),
        payout("po_3", at(2026, 10, 6), 7500, at(2026, 10, 7, 0)),
        payout("po_4", at(2026, 10, 7), 2000, at(2026, 10, 8, 0)),
        payout("po_5", at(2026, 10, 8), 6000, at(2026, 10, 9, 0)),
        payout("po_6", at(2026, 10, 8), 9900, at(2026, 10, 9, 0), status="failed"),
        payout("po_7", at(2026, 10, 12), 4000, at(2026, 10, 13, 0)),
        payout("po_8", at(2026, 10, 12), 4100, at(2026, 10, 13, 0)),
    )
    path = tmp_path / "bank.csv"
    path.write_text(STATEMENT)
    return deposits.match(made.frame("payouts"), read_bank_statement(path))


def test_each_payout_and_stray_deposit_gets_its_result(matched):
    results = dict(
        zip(matched["payout"].fillna(matched["description"]), matched["result"], strict=True)
    )
    assert results == {
        "po_1": "matched",
        "po_2": "late",
        "po_3": "amount_differs",
        "po_4": "missing_deposit",
        "po_5": "matched",  # Friday's payout on Monday: one business day
        "po_7": "matched",
        "po_8": "matched",
        "STRIPE PAYOUT": "no_payout",
    }
    row = matched.set_index("payout").loc["po_3"]
    assert row["difference"] == -50 and row["deposit_amount"] == 7450
    assert matched.set_index("payout").loc["po_2", "business_days_late"] == 3
    assert matched.set_index("payout").loc["po_8", "deposit_amount"] == 4100
    counts = deposits.summary(matched).set_index("result")["count"].to_dict()
    assert counts == {
        "matched": 4,
        "late": 1,
        "amount_differs": 1,
        "missing_deposit": 1,
        "no_payout": 1,
    }


OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1>
<SONRS>
<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<DTSERVER>20261015120000
<LANGUAGE>ENG
</SONRS>
</SIGNONMSGSRSV1>
<BANKMSGSRSV1>
<STMTTRNRS>
<TRNUID>1
<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS>
<CURDEF>JPY
<BANKACCTFROM>
<BANKID>0001
<ACCTID>000123456789
<ACCTTYPE>CHECKING
</BANKACCTFROM>
<BANKTRANLIST>
<DTSTART>20261001
<DTEND>20261015
<STMTTRN>
<TRNTYPE>CREDIT
<DTPOSTED>20261007
<TRNAMT>48200
<FITID>20261007-0001
<NAME>STRIPE
<MEMO>PAYOUT
</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL>
<BALAMT>48200
<DTASOF>20261015
</LEDGERBAL>
</STMTRS>
</STMTTRNRS>
</BANKMSGSRSV1>
</OFX>
"""


def test_an_ofx_statement_in_yen(tmp_path):
    path = tmp_path / "bank.ofx"
    path.write_text(OFX)
    lines = read_bank_statement(path)
    assert lines.to_dict("records") == [
        {
            "date": at(2026, 10, 7) and lines.loc[0, "date"],
            "description": "STRIPE PAYOUT",
            "amount": 48200,
            "currency": "jpy",
            "reference": "20261007-0001",
        }
    ]
    assert str(lines.loc[0, "date"]) == "2026-10-07"


def test_a_malformed_statement_names_row_and_column(tmp_path):
    path = tmp_path / "bank.csv"
    path.write_text("date,description,amount,currency\n2026-10-05,STRIPE,1O0.00,USD\n")
    with pytest.raises(FileError, match="row 2, column amount"):
        read_bank_statement(path)
    broken = tmp_path / "broken.ofx"
    broken.write_text("<OFX><nonsense")
    with pytest.raises(FileError, match="not a readable OFX file"):
        read_bank_statement(broken)
