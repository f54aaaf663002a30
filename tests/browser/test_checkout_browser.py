"""Checkout in a real browser: Debian's chromium driven by Playwright (pointed at the system
browser; its own download cannot work offline) through the demo shop and the sandbox's
hosted page. Pay with 4242 4242 4242 4242 and land on "paid"; a declined card, its message,
then a good card; cancel; the legacy token form. Every wait is for a condition; a
screenshot of each step goes to the test's temporary folder; no request may leave
127.0.0.1 (the pages load nothing from elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import workbench
from workbench import config
from workbench.shop import running

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
WAIT = 30_000  # ms: a busy machine

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="install Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
def wb(sandbox_server, account_key, tmp_path):
    name = account_key.rsplit("sk_test_workbench_", 1)[1]
    settings = config.load(
        {
            "STRIPE_API_BASE": sandbox_server.url,
            "WORKBENCH_SANDBOX_ACCOUNTS": name,
            "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
            "WORKBENCH_ENV_FILE": os.devnull,
        }
    )
    return workbench.connect(name, settings, seed=False)


@pytest.fixture(params=["http", "https"])
def shop(wb, request):
    with running(wb, https=request.param == "https", out=lambda line: None) as shop:
        yield shop


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = browser.new_context(ignore_https_errors=True, java_script_enabled=True)
        page = context.new_page()
        page.set_default_timeout(WAIT)
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        try:
            yield page
        finally:
            browser.close()
    assert page.requested, "the browser made no request"
    elsewhere = [url for url in page.requested if urlsplit(url).hostname != "127.0.0.1"]
    assert elsewhere == []


def shot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def fill_card(page, number: str) -> None:
    page.fill("input[name=number]", number)
    page.fill("input[name=exp]", "12 / 34")
    page.fill("input[name=cvc]", "123")


def test_pay_with_4242_and_see_paid(shop, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(shop.url)
    shot(page, tmp_path, "1_products")
    page.click("#pay-mug")
    page.wait_for_url("**/c/**/pay/cs_test_*")
    expect(page.locator("#total")).to_have_text("12.50 USD")
    page.fill("input[name=email]", "ada@example.com")
    fill_card(page, "4242 4242 4242 4242")
    shot(page, tmp_path, "2_hosted_page")
    page.click("#pay")
    page.wait_for_url(f"{shop.url}/success?session_id=cs_test_*")
    expect(page.locator("#status")).to_have_text("paid")
    order = page.locator("#order").inner_text()
    shot(page, tmp_path, "3_paid")
    assert shop.orders.status(order) == "paid"
    assert (tmp_path / "3_paid.png").stat().st_size > 5_000


def test_a_declined_card_then_a_good_one(shop, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(shop.url)
    page.click("#pay-poster")
    page.wait_for_url("**/c/**/pay/cs_test_*")
    expect(page.locator("#total")).to_have_text("18.00 EUR")
    page.fill("input[name=email]", "bob@example.com")
    fill_card(page, "4000 0000 0000 0002")
    page.click("#pay")
    expect(page.locator("#error")).to_have_text("Your card was declined.")
    shot(page, tmp_path, "1_declined")
    fill_card(page, "4242 4242 4242 4242")
    page.click("#pay")
    page.wait_for_url(f"{shop.url}/success?session_id=cs_test_*")
    expect(page.locator("#status")).to_have_text("paid")
    shot(page, tmp_path, "2_paid_after_retry")


def test_cancel_goes_back_to_the_shop_unpaid(shop, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(shop.url)
    page.click("#pay-tea")
    page.wait_for_url("**/c/**/pay/cs_test_*")
    expect(page.locator("#total")).to_have_text("1,500 JPY")
    shot(page, tmp_path, "1_hosted_page")
    page.click("#cancel")
    page.wait_for_url(f"{shop.url}/cancel?order=WEB-*")
    expect(page.locator("#status")).to_have_text("not paid")
    shot(page, tmp_path, "2_canceled")
    assert shop.orders.status(page.locator("#order").inner_text()) is None


def test_the_legacy_token_form(shop, page, tmp_path):
    from playwright.sync_api import expect

    page.goto(f"{shop.url}/legacy")
    shot(page, tmp_path, "1_legacy_products")
    page.click("#legacy-mug")
    page.wait_for_url("**/c/**/token?*")
    expect(page.locator("#pay")).to_have_text("Pay 12.50 USD")
    page.fill("input[name=email]", "eve@example.com")
    fill_card(page, "4000 0000 0000 0002")
    shot(page, tmp_path, "2_token_form")
    page.click("#pay")  # the token is made, and the page posts it on to the shop
    page.wait_for_url(f"{shop.url}/legacy/charge?order=WEB-*")
    expect(page.locator("#error")).to_have_text("Your card was declined.")
    shot(page, tmp_path, "3_declined")
    page.click("#retry")
    page.wait_for_url("**/c/**/token?*")
    fill_card(page, "4242 4242 4242 4242")
    page.click("#pay")
    page.wait_for_url(f"{shop.url}/legacy/charge?order=WEB-*")
    expect(page.locator("#status")).to_have_text("paid")
    shot(page, tmp_path, "4_paid")
    assert shop.orders.status(page.locator("#order").inner_text()) == "paid"
