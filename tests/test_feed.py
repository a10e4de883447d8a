"""Reading the feed: who sees which post, paging, hot ranking, drafts and hidden posts."""

from datetime import timedelta

import marshmallow as ma
import pytest
from sqlalchemy import event

from app.extensions import db
from app.feed.posts import presentation
from app.feed.reading.schemas import FeedPageSchema
from tests import factories, factories_segments, factories_stores
from tests import factories_feed as ff
from tests import factories_inventory as inventory_factory

NEAR = (25.0340, 121.5650)  # ~120 m from factories_stores.TAIPEI
KAOHSIUNG = (22.6273, 120.3014)


def feed(client, caller=None, at=NEAR, **params):
    if at is not None:
        params.update(lat=at[0], lng=at[1])
    resp = client.get("/v1/feed", query_string=params, headers=caller.headers if caller else {})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def assert_within_contract(page, schema=None, path="page"):
    """The feed is sent as built, not dumped through its schema: every key it holds, at every
    level, is one its OpenAPI schema declares (nothing internal or staff-only slips out)."""
    schema = schema or FeedPageSchema()
    if isinstance(page, list):
        for i, item in enumerate(page):
            assert_within_contract(item, schema, f"{path}[{i}]")
        return
    if not isinstance(page, dict):
        return
    fields = {f.data_key or name: f for name, f in schema.fields.items()}
    assert set(page) <= set(fields), (path, set(page) - set(fields))
    for key, value in page.items():
        field = fields[key]
        if isinstance(field, ma.fields.List):
            field = field.inner
        if isinstance(field, ma.fields.Nested):
            assert_within_contract(value, field.schema, f"{path}.{key}")


def ids(page) -> list[int]:
    return [item["id"] for item in page["items"]]


def follow(session, shopper, merchant):
    factories_segments.follow(session, user_id=shopper.id, merchant=merchant)
    session.commit()


def test_followers_get_untargeted_posts_others_do_not(client, session, merchant, make_shopper):
    fan, stranger = make_shopper(), make_shopper()
    follow(session, fan, merchant)
    post = ff.post(session, merchant=merchant)
    session.commit()
    assert ids(feed(client, fan)) == [post.id]
    assert ids(feed(client, stranger)) == []
    assert ids(feed(client, None)) == []


def test_store_local_posts_reach_readers_near_the_store_only(
    client, session, merchant, make_shopper
):
    store = factories_stores.store(session, merchant=merchant)
    post = ff.post(session, merchant=merchant, store_id=store.id)
    session.commit()
    fan_far_away = make_shopper()
    follow(session, fan_far_away, merchant)
    page = feed(client, None)
    assert ids(page) == [post.id]
    assert 50 < page["items"][0]["distance_m"] < 250
    assert page["items"][0]["store"]["id"] == store.id
    assert ids(feed(client, fan_far_away, at=KAOHSIUNG)) == []
    assert ids(feed(client, None, radius=50)) == []


def test_a_store_local_post_follows_its_store_when_the_store_or_the_post_moves(
    client, session, merchant, owner
):
    store = factories_stores.store(session, merchant=merchant)
    other = factories_stores.store(session, merchant=merchant, lat=KAOHSIUNG[0], lng=KAOHSIUNG[1])
    post = ff.post(session, merchant=merchant, store_id=store.id)
    session.commit()
    assert ids(feed(client, None)) == [post.id] and ids(feed(client, None, at=KAOHSIUNG)) == []

    moved = {"location": {"lat": KAOHSIUNG[0], "lng": KAOHSIUNG[1] + 0.001}}
    resp = client.patch(f"/v1/admin/stores/{store.id}", json=moved, headers=owner.headers)
    assert resp.status_code == 200, resp.get_json()
    assert ids(feed(client, None)) == []
    page = feed(client, None, at=KAOHSIUNG)
    assert ids(page) == [post.id] and 50 < page["items"][0]["distance_m"] < 150

    back = {"location": {"lat": factories_stores.TAIPEI[0], "lng": factories_stores.TAIPEI[1]}}
    client.patch(f"/v1/admin/stores/{store.id}", json=back, headers=owner.headers)
    resp = client.patch(
        f"/v1/admin/posts/{post.id}", json={"store_id": other.id}, headers=owner.headers
    )
    assert resp.status_code == 200, resp.get_json()
    assert ids(feed(client, None)) == [] and ids(feed(client, None, at=KAOHSIUNG)) == [post.id]

    other.is_active = False
    session.commit()
    assert ids(feed(client, None, at=KAOHSIUNG)) == []  # a closed store's posts are not nearby


def test_city_posts_reach_readers_whose_nearest_store_is_in_that_city(client, session, merchant):
    factories_stores.store(session, merchant=factories.merchant(session), city="Taipei")
    factories_stores.store(
        session, merchant=merchant, lat=KAOHSIUNG[0], lng=KAOHSIUNG[1], city="Kaohsiung"
    )
    taipei = ff.post(session, merchant=merchant, cities=["TAIPEI"])
    ff.post(session, merchant=merchant, cities=["Kaohsiung"])
    session.commit()
    assert ids(feed(client, None, at=(25.05, 121.55))) == [taipei.id]
    assert ids(feed(client, None, at=(0.0, 0.0))) == []  # no store within 20 km: no city


def test_drafts_scheduled_and_hidden_posts_are_invisible(client, session, merchant, shopper):
    follow(session, shopper, merchant)
    live = ff.post(session, merchant=merchant)
    draft = ff.post(session, merchant=merchant, state="draft")
    scheduled = ff.post(session, merchant=merchant, ago=-timedelta(hours=1))
    hidden = ff.post(session, merchant=merchant, state="hidden")
    session.commit()
    assert ids(feed(client, shopper)) == [live.id]
    page = client.get(f"/v1/merchants/{merchant.id}/posts", headers=shopper.headers).get_json()
    assert ids(page) == [live.id]
    for post in (draft, scheduled, hidden):
        assert client.get(f"/v1/posts/{post.id}").status_code == 404
        resp = client.put(f"/v1/posts/{post.id}/like", headers=shopper.headers)
        assert resp.status_code == 404
    assert client.get(f"/v1/posts/{live.id}").status_code == 200


def test_a_scheduled_post_appears_once_its_time_has_come(client, session, merchant, shopper):
    follow(session, shopper, merchant)
    post = ff.post(session, merchant=merchant, ago=-timedelta(seconds=2))
    session.commit()
    assert ids(feed(client, shopper)) == []
    post.publish_at -= timedelta(seconds=3)
    session.commit()
    assert ids(feed(client, shopper)) == [post.id]


def test_the_feed_pages_newest_first_without_repeats(client, session, merchant, shopper):
    follow(session, shopper, merchant)
    posts = [ff.post(session, merchant=merchant, ago=timedelta(minutes=m)) for m in range(5)]
    session.commit()
    seen, cursor = [], None
    while True:
        page = feed(client, shopper, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [p.id for p in posts]


def test_hot_ranks_likes_against_age_and_distance(client, session, merchant, make_shopper):
    reader = make_shopper()
    follow(session, reader, merchant)
    near = factories_stores.store(session, merchant=merchant)
    far = factories_stores.store(session, merchant=merchant, lat=25.0700)  # ~4 km away
    newest = ff.post(session, merchant=merchant, ago=timedelta(minutes=1))
    liked = ff.post(session, merchant=merchant, ago=timedelta(hours=3))
    ff.likes(session, post=liked, count=40)
    local_near = ff.post(session, merchant=merchant, store_id=near.id, ago=timedelta(hours=2))
    local_far = ff.post(session, merchant=merchant, store_id=far.id, ago=timedelta(hours=2))
    ff.post(session, merchant=merchant, ago=timedelta(days=20))  # outside the hot window
    session.commit()
    order = ids(feed(client, reader, sort="hot"))
    assert order[0] == liked.id
    assert order.index(local_near.id) < order.index(local_far.id)
    assert set(order) == {newest.id, liked.id, local_near.id, local_far.id}
    first = feed(client, reader, sort="hot", limit=2)
    rest = feed(client, reader, sort="hot", limit=10, cursor=first["next_cursor"])
    assert ids(first) + ids(rest) == order


def test_liked_by_me_is_per_reader(client, session, merchant, make_shopper):
    me, other = make_shopper(), make_shopper()
    for reader in (me, other):
        follow(session, reader, merchant)
    post = ff.post(session, merchant=merchant)
    session.commit()
    client.put(f"/v1/posts/{post.id}/like", headers=me.headers)
    assert feed(client, me)["items"][0]["liked_by_me"] is True
    assert feed(client, other)["items"][0]["liked_by_me"] is False
    assert feed(client, other)["items"][0]["like_count"] == 1


def test_the_merchant_page_shows_targeted_posts_too(client, session, merchant):
    store = factories_stores.store(session, merchant=merchant)
    posts = [
        ff.post(session, merchant=merchant, ago=timedelta(minutes=3)),
        ff.post(session, merchant=merchant, store_id=store.id, ago=timedelta(minutes=2)),
        ff.post(session, merchant=merchant, cities=["Tainan"], ago=timedelta(minutes=1)),
    ]
    ff.post(session, merchant=factories.merchant(session))
    session.commit()
    first = client.get(f"/v1/merchants/{merchant.id}/posts?limit=2").get_json()
    rest = client.get(
        f"/v1/merchants/{merchant.id}/posts?limit=2&cursor={first['next_cursor']}"
    ).get_json()
    assert ids(first) + ids(rest) == [p.id for p in reversed(posts)]
    assert rest["next_cursor"] is None
    assert client.get("/v1/merchants/999999/posts").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"lat": 25.0},
        {"lat": 91, "lng": 0},
        {"lat": 0, "lng": 181},
        {"lat": "nan", "lng": 0},
        {"sort": "random"},
        {"limit": 0},
        {"cursor": "forged"},
        {"radius": 50_001},
    ],
)
def test_bad_feed_parameters_are_422(client, params):
    resp = client.get("/v1/feed", query_string=params)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"


def test_a_cursor_of_another_list_is_refused(client, session, merchant, shopper):
    follow(session, shopper, merchant)
    for _ in range(3):
        ff.post(session, merchant=merchant)
    session.commit()
    cursor = client.get(f"/v1/merchants/{merchant.id}/posts?limit=1").get_json()["next_cursor"]
    resp = client.get("/v1/feed", query_string={"cursor": cursor}, headers=shopper.headers)
    assert resp.status_code == 422


def test_product_posts_show_price_and_the_nearest_store_with_stock(client, session, merchant):
    near_empty = factories_stores.store(session, merchant=merchant)
    stocked = factories_stores.store(session, merchant=merchant, lat=25.0400)  # ~780 m
    sku = ff.sku(session, merchant=merchant, price_cents=42000)
    inventory_factory.stock(session, near_empty, sku, on_hand=0)
    inventory_factory.stock(session, stocked, sku, on_hand=3)
    post = ff.post(session, merchant=merchant, kind="product", store_id=near_empty.id)
    post.sku_ids = [sku.id]
    session.commit()
    product = feed(client, None)["items"][0]["products"][0]
    assert (product["sku_id"], product["price_cents"]) == (sku.id, 42000)
    assert product["nearest_store"]["store"]["id"] == stocked.id
    assert product["nearest_store"]["available"] == 3
    assert_within_contract(feed(client, None))
    detail = client.get(f"/v1/posts/{post.id}").get_json()["products"][0]
    assert detail["nearest_store"] is None  # no position given


def test_followers_get_approved_buyer_shows_in_time_order(client, session, merchant, make_shopper):
    fan, author = make_shopper(), make_shopper()
    follow(session, fan, merchant)
    older = ff.post(session, merchant=merchant, ago=timedelta(hours=3))
    show = ff.show(session, user_id=author.id, merchant=merchant, approved_ago=timedelta(hours=2))
    newer = ff.post(session, merchant=merchant, ago=timedelta(hours=1))
    ff.show(session, user_id=author.id, merchant=merchant, state="pending")
    ff.show(session, user_id=author.id, merchant=factories.merchant(session))
    session.commit()
    page = feed(client, fan)
    assert [(i["type"], i["id"]) for i in page["items"]] == [
        ("post", newer.id),
        ("buyer_show", show.id),
        ("post", older.id),
    ]
    assert page["items"][1]["buyer_show"]["author"]["id"] == author.id
    assert_within_contract(page)  # a shopper's feed says nothing of the shows' reports
    seen, cursor = [], None
    while True:
        page = feed(client, fan, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [(i["type"], i["id"]) for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [("post", newer.id), ("buyer_show", show.id), ("post", older.id)]
    assert [i["type"] for i in feed(client, fan, sort="hot")["items"]] == ["post", "post"]
    assert feed(client, None)["items"] == []


def test_nearest_stock_lookups_per_page_are_capped(client, session, merchant, monkeypatch):
    monkeypatch.setattr(presentation, "NEAREST_STOCK_SKUS", 1)
    store = factories_stores.store(session, merchant=merchant)
    skus = [ff.sku(session, merchant=merchant) for _ in range(2)]
    for sku in skus:
        inventory_factory.stock(session, store, sku, on_hand=2)
    post = ff.post(session, merchant=merchant, kind="product", store_id=store.id)
    post.sku_ids = [s.id for s in skus]
    session.commit()
    products = feed(client, None)["items"][0]["products"]
    assert [p["nearest_store"] is not None for p in products] == [True, False]


def _every_page(client, caller, **params) -> list[int]:
    seen, cursor = [], None
    while True:
        page = feed(client, caller, **params, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            return seen


@pytest.mark.parametrize("sort", ["latest", "hot"])
def test_followed_nearby_and_city_posts_page_together_each_once(
    client, session, merchant, shopper, sort
):
    follow(session, shopper, merchant)
    store = factories_stores.store(session, merchant=merchant, city="Taipei")
    minutes = iter(range(1, 100))

    def made(**kw):
        return ff.post(session, merchant=merchant, ago=timedelta(minutes=next(minutes)), **kw)

    posts = []
    for _ in range(3):
        posts += [made(), made(store_id=store.id), made(cities=["Taipei"])]
    both = made(store_id=store.id, cities=["Taipei"])  # store-local and city: shown once
    session.commit()
    everything = ids(feed(client, shopper, sort=sort, limit=50))
    assert sorted(everything) == sorted(p.id for p in [*posts, both])
    assert _every_page(client, shopper, sort=sort, limit=2) == everything
    if sort == "latest":
        assert everything == [p.id for p in [*posts, both]]  # newest first


def test_a_page_costs_the_same_statements_whatever_products_it_shows(
    app, client, session, merchant, monkeypatch
):
    # Unprepared, every statement passes SQLAlchemy's cursor events and can be counted.
    monkeypatch.setitem(app.config, "DB_PREPARED_STATEMENTS", False)
    store = factories_stores.store(session, merchant=merchant)

    def product_post():
        sku = ff.sku(session, merchant=merchant)
        inventory_factory.stock(session, store, sku, on_hand=2)
        post = ff.post(session, merchant=merchant, kind="product", store_id=store.id)
        post.sku_ids = [sku.id]
        session.commit()

    def statements_of_a_page(expected_items: int) -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "after_cursor_execute", listener)
        try:
            page = feed(client, None)
        finally:
            event.remove(engine, "after_cursor_execute", listener)
        assert len(page["items"]) == expected_items
        assert all(item["products"][0]["nearest_store"] for item in page["items"])
        return len(seen)

    product_post()
    one = statements_of_a_page(1)
    for _ in range(5):
        product_post()
    assert statements_of_a_page(6) == one
