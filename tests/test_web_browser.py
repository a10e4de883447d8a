"""/app and /workbench in a real browser (Debian's Chromium driven by Playwright) against the API
served on a free loopback port: a shopper reserves, claims and likes; staff hand the order over;
the shopper sees it picked up. Each step checks what is on the screen and leaves a screenshot in
var/screenshots/ for people to look at."""

import re
import threading
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from app import create_app
from tests import factories, factories_stores
from tests import factories_coupons as coupons
from tests import factories_feed as feed
from tests import factories_inventory as inv
from tests.conftest import app_config

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(committed):
    """The API and the pages on a free port, in a thread of this process."""
    httpd = make_server("127.0.0.1", 0, create_app(app_config()), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def shop(session, merchant):
    """A pickup store in Taipei holding a SKU, a claimable coupon, a post, and its owner."""
    store = factories_stores.store(session, merchant=merchant)
    (sku,) = inv.skus(session, merchant)
    inv.stock(session, store, sku, on_hand=5)
    coupons.campaign(session, merchant=merchant, title="NT$50 off")
    feed.post(session, merchant=merchant, title="Autumn teas are in", store_id=store.id)
    owner = factories.user(session, email=f"owner-{uuid.uuid4().hex[:6]}@example.com")
    factories.staff(session, merchant=merchant, user=owner, role="owner")
    session.commit()
    return {"store": store, "sku": sku, "owner": owner}


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _shopper_reserves(page, base: str, store) -> str:
    page.goto(f"{base}/app#account")
    sign_up = page.locator("#sign-up")
    sign_up.get_by_label("Your name").fill("Mei")
    sign_up.get_by_label("Email").fill(f"mei-{uuid.uuid4().hex[:6]}@example.com")
    sign_up.get_by_label("Password").fill("correct horse battery")
    sign_up.get_by_role("button", name="Create an account").click()
    card = page.locator(f'.store-card[data-store-id="{store.id}"]')
    expect(card).to_contain_text(store.name)
    expect(card).to_contain_text(re.compile(r"\d+ m"))
    expect(page.locator(".leaflet-interactive").first).to_be_visible()  # pins on the map
    _shot(page, "01-shopper-map")
    card.get_by_role("link").click()
    expect(page.locator("#shelf")).to_contain_text("available")
    page.locator("#shelf").get_by_role("button", name="Add to cart").click()
    expect(page.locator("#flash")).to_contain_text("Added")
    _shot(page, "02-store-page")
    page.goto(f"{base}/app#cart")
    expect(page.locator("#quote")).to_contain_text("holds everything")
    page.get_by_role("button", name="Reserve for pickup").click()
    expect(page.locator("#reservation-state")).to_have_text("Reserved")
    code = page.locator("#pickup-code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    _shot(page, "03-reservation-pass")
    return code


def _shopper_claims_and_likes(page, base: str) -> None:
    page.goto(f"{base}/app#wallet")
    page.locator("#coupons-nearby").get_by_role("button", name="Claim").click()
    expect(page.locator("#wallet-unused")).to_contain_text("NT$50 off")
    _shot(page, "04-wallet")
    page.goto(f"{base}/app#feed")
    post = page.locator(".post", has_text="Autumn teas are in")
    post.get_by_role("button", name="♥ 0").click()
    expect(page.locator(".post", has_text="Autumn teas are in")).to_contain_text("♥ 1")
    _shot(page, "05-feed-liked")


def _staff_prepare(page, base: str, owner) -> None:
    page.goto(f"{base}/workbench")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#role")).to_have_text("Owner")
    expect(page.locator(".picklist-line").first).to_contain_text("1 ×")  # what to pull
    card = page.locator(".reservation").first
    expect(card).to_contain_text("1 × SKU")
    _shot(page, "06-workbench-picklist")
    card.get_by_role("button", name="Start preparing").click()
    page.locator(".reservation").first.get_by_role("button", name="Mark ready").click()
    ready = page.locator(".reservation").first
    expect(ready.get_by_role("button", name="Hand over")).to_be_visible()


def _staff_collect(page, token: str) -> None:
    page.get_by_label("Pickup pass").fill(token)
    page.get_by_role("button", name="Collect by pass").click()
    expect(page.locator(".reservation")).to_have_count(0)
    _shot(page, "07-workbench-collected-by-pass")


def test_a_pickup_from_the_map_to_the_till(server, browser, shop):
    shopper = browser.new_context(viewport=PHONE, locale="en-US")
    shopper.set_default_timeout(10_000)
    page = shopper.new_page()
    _shopper_reserves(page, server, shop["store"])  # the 6-digit code is shown too
    reservation_url = page.url
    _shopper_claims_and_likes(page, server)

    staff = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    staff.set_default_timeout(10_000)
    till = staff.new_page()
    _staff_prepare(till, server, shop["owner"])

    page.goto(reservation_url)
    page.reload()  # the shopper sees it ready and shows a fresh pass (it lives about a minute)
    expect(page.locator("#reservation-state")).to_have_text("Ready for pickup")
    expect(page.locator("#pass svg")).to_be_visible()
    _shot(page, "08-shopper-ready-pass")
    _staff_collect(till, page.locator("#pass-token").get_attribute("data-token"))

    page.reload()
    expect(page.locator("#reservation-state")).to_have_text("Picked up")
    _shot(page, "09-shopper-picked-up")


def test_the_pages_speak_chinese(server, browser, shop):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server}/app#map")
    expect(page.locator("#tabs")).to_contain_text("地图")
    expect(page.locator(f'.store-card[data-store-id="{shop["store"].id}"]')).to_contain_text("米")
    _shot(page, "10-app-zh-CN")
