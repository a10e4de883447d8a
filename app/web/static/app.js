// The shopper web app: stores on a map, a store's shelf, product search, a pickup cart and its
// reservation with the pickup pass, the coupon wallet and the feed. Public API only.
import { Problem, Session, newKey } from "./api.js";
import { flash, form, guarded, h, money, show, startI18n, t } from "./ui.js";

const shopper = new Session("shopper");
const TAIPEI = { lat: 25.033, lng: 121.5654 };
const RADIUS_M = 5000;

const state = {
  get point() { return JSON.parse(localStorage.getItem("shopnear.point") || "null") || TAIPEI; },
  set point(p) { localStorage.setItem("shopnear.point", JSON.stringify(p)); },
  get cart() { return JSON.parse(localStorage.getItem("shopnear.cart") || "null"); },
  set cart(c) {
    if (c) localStorage.setItem("shopnear.cart", JSON.stringify(c));
    else localStorage.removeItem("shopnear.cart");
  },
};

const api = (method, path, options) => shopper.call(method, path, options);
const near = () => ({ lat: state.point.lat, lng: state.point.lng });

function needSignIn() {
  show(h("div", { class: "card" }, h("p", {}, t("account.needed")), h("a", { href: "#account" }, t("nav.account"))));
}

// --- map and list --------------------------------------------------------------------------

let map = null;

function pinColour(props) {
  if (!props.open_now) return "#8a8f98";
  return props.pickup_enabled ? "#1769aa" : "#2e9d5b";
}

async function mapView() {
  const holder = h("div", { id: "map", "aria-label": t("map.label") });
  const list = h("ul", { class: "plain", id: "store-list" });
  const locate = h("button", { class: "secondary", onclick: () => {
    navigator.geolocation.getCurrentPosition(
      (pos) => { state.point = { lat: pos.coords.latitude, lng: pos.coords.longitude }; route(); },
      () => flash(t("map.no_location"), true),
    );
  } }, t("map.locate"));
  const legend = h("p", { class: "pin-legend muted" },
    h("span", { style: "background:#1769aa" }), t("map.pickup"),
    h("span", { style: "background:#2e9d5b" }), t("map.open"),
    h("span", { style: "background:#8a8f98" }), t("map.closed"));
  show(h("div", { class: "row" }, locate, h("span", { class: "muted" }, t("map.click_hint"))), legend,
    h("div", { class: "split" }, holder, h("div", {}, h("h2", {}, t("map.nearest")), list)));
  map = L.map(holder).setView([state.point.lat, state.point.lng], 14);
  const tiles = document.body.dataset.tileUrl;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  L.circleMarker([state.point.lat, state.point.lng], { radius: 6, color: "#d9480f" }).addTo(map);
  map.on("click", (event) => { state.point = { lat: event.latlng.lat, lng: event.latlng.lng }; route(); });
  await guarded(async () => {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
    const pins = await api("GET", "/v1/stores/map", { query: { bbox } });
    L.geoJSON(pins, {
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, {
        radius: 7, color: pinColour(feature.properties), fillOpacity: 0.8,
      }).bindTooltip(feature.properties.name).on("click", () => { location.hash = `#store/${feature.id}`; }),
    }).addTo(map);
    const cards = await api("GET", "/v1/stores/cards", { query: { ...near(), radius_m: RADIUS_M, limit: 20 } });
    list.replaceChildren(...cards.items.map(storeCard));
    if (!cards.items.length) list.append(h("li", { class: "muted" }, t("map.none")));
  });
}

function storeCard(card) {
  const badges = [
    h("span", { class: "badge" }, card.open_now ? t("map.open") : t("map.closed")),
    card.pickup_enabled ? h("span", { class: "badge" }, t("map.pickup")) : null,
    card.coupons.claimable ? h("span", { class: "badge" }, t("map.coupons", { count: card.coupons.claimable })) : null,
  ];
  return h("li", { class: "card store-card", "data-store-id": card.id },
    h("a", { href: `#store/${card.id}` }, h("strong", {}, card.name)),
    h("div", { class: "muted" }, `${t("map.distance", { m: card.distance_m })} · ${card.merchant.name}`),
    h("div", { class: "row" }, ...badges),
    card.latest_post ? h("div", { class: "muted" }, `“${card.latest_post.title || ""}”`) : null);
}

// --- a store -------------------------------------------------------------------------------

async function storeView(id) {
  await guarded(async () => {
    const store = await api("GET", `/v1/stores/${id}`);
    const shelf = await api("GET", `/v1/stores/${id}/stock`, { query: { limit: 50 } });
    const hours = Object.entries(store.hours || {}).map(([day, ranges]) =>
      h("li", {}, `${t(`days.${day}`)}: ${ranges.map((r) => `${r.opens}–${r.closes}`).join(", ") || t("store.closed_day")}`));
    const exception = store.today_exception
      ? h("p", { class: "badge" }, store.today_exception.closed ? t("store.closed_today") : t("store.special_hours"))
      : null;
    show(h("div", { class: "card" },
      h("h2", {}, store.name), h("p", { class: "muted" }, `${store.address} · ${store.merchant.name}`),
      h("p", {}, store.open_now ? t("map.open") : t("map.closed")), exception,
      h("h3", {}, t("store.hours")), h("ul", { class: "plain" }, ...hours)),
    h("h3", {}, t("store.holds")),
    h("ul", { class: "plain", id: "shelf" }, ...shelf.items.map((item) => h("li", { class: "card row" },
      h("span", {}, `${item.product_title} ${item.title || ""}`),
      h("span", { class: "muted" }, `${money(item.price_cents, item.currency)} · ${t("store.available", { count: item.available })}`),
      item.reservable ? h("button", { onclick: () => addToCart(store, item) }, t("cart.add")) : h("span", { class: "muted" }, t("store.in_store_only"))))));
  });
}

function addToCart(store, item) {
  let cart = state.cart;
  if (!cart || cart.store.id !== store.id) cart = { store: { id: store.id, name: store.name }, lines: {} };
  const line = cart.lines[item.sku_id] || { qty: 0, title: `${item.product_title} ${item.title || ""}`.trim() };
  line.qty += 1;
  cart.lines[item.sku_id] = line;
  state.cart = cart;
  flash(t("cart.added", { title: line.title }));
}

// --- search --------------------------------------------------------------------------------

async function searchView() {
  const results = h("div", { id: "results" });
  const box = form([["q", t("search.label")]], t("search.go"), async ({ q }) => {
    const found = await api("GET", "/v1/products", { query: { q, limit: 20 } });
    results.replaceChildren(...found.items.map((product) => h("div", { class: "card" },
      h("strong", {}, product.title),
      h("ul", { class: "plain" }, ...product.skus.map((sku) => h("li", { class: "row" },
        `${sku.title || sku.code} · ${money(sku.price_cents, sku.currency)}`,
        h("button", { class: "secondary", onclick: () => nearestWith(sku, product, results) }, t("search.where"))))))));
    if (!found.items.length) results.append(h("p", { class: "muted" }, t("search.none")));
  });
  show(box, results);
}

async function nearestWith(sku, product, results) {
  await guarded(async () => {
    const stores = await api("GET", `/v1/skus/${sku.id}/nearby`, { query: { ...near(), radius_m: 20000, limit: 10 } });
    results.replaceChildren(h("h3", {}, `${product.title} ${sku.title || ""}`),
      ...stores.items.map((row) => h("div", { class: "card row nearby-stock" },
        h("a", { href: `#store/${row.store.id}` }, row.store.name),
        h("span", { class: "muted" }, `${row.distance_m} m · ${t("store.available", { count: row.available })}`),
        row.reservable ? h("button", { onclick: () => addToCart(row.store, {
          sku_id: sku.id, product_title: product.title, title: sku.title,
        }) }, t("cart.add")) : null)));
    if (!stores.items.length) results.append(h("p", { class: "muted" }, t("search.nowhere")));
  });
}

// --- cart, reservations and the pickup pass -------------------------------------------------

async function cartView() {
  const cart = state.cart;
  if (!cart) return show(h("p", { class: "muted" }, t("cart.empty")));
  const items = Object.entries(cart.lines).map(([sku, line]) => ({ sku_id: Number(sku), qty: line.qty }));
  const quote = h("div", { id: "quote" });
  show(h("div", { class: "card" }, h("h2", {}, t("cart.at", { store: cart.store.name })),
    h("ul", { class: "plain" }, ...Object.values(cart.lines).map((l) => h("li", {}, `${l.qty} × ${l.title}`))),
    h("div", { class: "row" },
      h("button", { id: "reserve", onclick: () => reserve(cart, items) }, t("cart.reserve")),
      h("button", { class: "secondary", onclick: () => { state.cart = null; route(); } }, t("cart.clear")))), quote);
  await guarded(async () => {
    const answer = await api("POST", "/v1/pickup/quote", { body: { ...near(), items } });
    const here = answer.stores.find((s) => s.store.id === cart.store.id);
    quote.replaceChildren(h("p", { class: "muted" }, here ? t("cart.holds_all", { m: here.distance_m }) : t("cart.not_all")),
      ...answer.stores.filter((s) => s.store.id !== cart.store.id).map((s) =>
        h("div", { class: "muted" }, t("cart.also", { store: s.store.name, m: s.distance_m }))));
  });
}

async function reserve(cart, items) {
  if (!shopper.signedIn) return needSignIn();
  await guarded(async () => {
    const made = await api("POST", "/v1/reservations", {
      body: { store_id: cart.store.id, items }, headers: { "Idempotency-Key": newKey() },
    });
    sessionStorage.setItem(`shopnear.code.${made.id}`, made.pickup_code || "");
    state.cart = null;
    location.hash = `#reservation/${made.id}`;
  });
}

async function reservationView(id) {
  if (!shopper.signedIn) return needSignIn();
  await guarded(async () => {
    const r = await api("GET", `/v1/reservations/${id}`);
    const code = sessionStorage.getItem(`shopnear.code.${id}`);
    const pass = h("div", { class: "pass", id: "pass" });
    const active = ["reserved", "preparing", "ready"].includes(r.state);
    show(h("div", { class: "card" },
      h("h2", {}, t("pickup.title")),
      h("p", {}, h("span", { class: "badge", id: "reservation-state" }, t(`states.${r.state}`, { defaultValue: r.state }))),
      h("ul", { class: "plain" }, ...r.items.map((i) => h("li", {}, `${i.qty} × SKU ${i.sku_id}`))),
      h("p", { class: "muted" }, t("pickup.until", { when: new Date(r.expires_at).toLocaleString() })),
      code ? h("p", {}, t("pickup.code"), " ", h("strong", { id: "pickup-code" }, code)) : null,
      pass,
      active ? h("button", { class: "secondary", onclick: () => cancel(id) }, t("pickup.cancel")) : null));
    if (active) await showPass(id, pass);
  });
}

async function showPass(id, holder) {
  try {
    const pass = await api("GET", `/v1/reservations/${id}/pass`);
    holder.innerHTML = pass.qr_svg || pass.svg || "";
    holder.append(h("div", { class: "muted", id: "pass-token", "data-token": pass.token || pass.pass || "" }, t("pickup.pass")));
  } catch (error) {
    if (!(error instanceof Problem) || error.status !== 404) throw error;
    holder.append(h("div", { class: "muted" }, t("pickup.show_code")));
  }
}

async function cancel(id) {
  await guarded(async () => { await api("POST", `/v1/reservations/${id}/cancel`, { body: {} }); route(); });
}

async function reservationsView() {
  if (!shopper.signedIn) return needSignIn();
  await guarded(async () => {
    const page = await api("GET", "/v1/reservations", { query: { limit: 20 } });
    show(h("h2", {}, t("nav.reservations")), ...page.items.map((r) => h("div", { class: "card row" },
      h("a", { href: `#reservation/${r.id}` }, new Date(r.created_at).toLocaleString()),
      h("span", { class: "badge" }, t(`states.${r.state}`, { defaultValue: r.state })))));
  });
}

// --- wallet ---------------------------------------------------------------------------------

async function walletView() {
  if (!shopper.signedIn) return needSignIn();
  await guarded(async () => {
    const nearby = await api("GET", "/v1/coupons/nearby", { query: { ...near(), radius_m: RADIUS_M } });
    const sections = [];
    for (const which of ["unused", "used", "expired"]) {
      const page = await api("GET", "/v1/wallet/coupons", { query: { state: which, limit: 50 } });
      sections.push(h("h3", {}, t(`wallet.${which}`)), h("ul", { class: "plain", id: `wallet-${which}` },
        ...page.items.map((c) => h("li", { class: "card" }, c.campaign.title,
          h("span", { class: "muted" }, ` · ${t("wallet.until", { when: new Date(c.expires_at).toLocaleDateString() })}`)))));
    }
    show(h("h2", {}, t("wallet.nearby")), h("ul", { class: "plain", id: "coupons-nearby" },
      ...nearby.items.map((item) => h("li", { class: "card row" },
        h("span", {}, item.campaign.title), h("span", { class: "muted" }, `${item.store.name} · ${item.distance_m} m`),
        h("button", { onclick: () => claim(item.campaign.id) }, t("wallet.claim"))))), ...sections);
  });
}

async function claim(campaignId) {
  await guarded(async () => {
    await api("POST", `/v1/coupon-campaigns/${campaignId}/claim`, {
      body: { ...near() }, headers: { "Idempotency-Key": newKey() },
    });
    flash(t("wallet.claimed"));
    route();
  });
}

// --- feed -----------------------------------------------------------------------------------

async function feedView() {
  await guarded(async () => {
    const page = await api("GET", "/v1/feed", { query: { ...near(), limit: 20 } });
    show(h("h2", {}, t("nav.feed")), ...page.items.map(feedItem));
    if (!page.items.length) document.getElementById("view").append(h("p", { class: "muted" }, t("feed.empty")));
  });
}

function feedItem(item) {
  if (item.type === "buyer_show") {
    const show_ = item.buyer_show;
    return h("div", { class: "card buyer-show" }, h("strong", {}, t("feed.show")), h("p", {}, show_.body || ""));
  }
  const like = h("button", { class: item.liked_by_me ? "" : "secondary", "data-post-id": item.id, onclick: () => toggleLike(item) },
    `♥ ${item.like_count}`);
  const poll = item.poll ? h("div", { class: "row" }, ...item.poll.options.map((o) =>
    h("button", { class: "secondary", onclick: () => vote(item.id, o.id) }, `${o.label}${o.votes === null || o.votes === undefined ? "" : ` (${o.votes})`}`))) : null;
  return h("div", { class: "card post", "data-post-id": item.id },
    h("div", { class: "muted" }, item.merchant.name), h("strong", {}, item.title || ""), h("p", {}, item.body || ""), poll,
    h("div", { class: "row" }, like));
}

async function toggleLike(item) {
  if (!shopper.signedIn) return needSignIn();
  await guarded(async () => {
    await api(item.liked_by_me ? "DELETE" : "PUT", `/v1/posts/${item.id}/like`);
    route();
  });
}

async function vote(postId, optionId) {
  if (!shopper.signedIn) return needSignIn();
  await guarded(async () => {
    await api("POST", `/v1/posts/${postId}/votes`, { body: { option_ids: [optionId] } });
    route();
  });
}

// --- account --------------------------------------------------------------------------------

async function accountView() {
  if (shopper.signedIn) {
    const me = await guarded(() => api("GET", "/v1/me"));
    return show(h("div", { class: "card" }, h("p", { id: "signed-in" }, t("account.signed_in", { name: me ? me.display_name : "" })),
      h("button", { class: "secondary", onclick: async () => { await shopper.logout(); route(); } }, t("account.sign_out"))));
  }
  const signIn = form([["email", t("account.email"), "email"], ["password", t("account.password"), "password"]],
    t("account.sign_in"), async ({ email, password }) => { await shopper.login(email, password); location.hash = "#map"; });
  const signUp = form([["display_name", t("account.name")], ["email", t("account.email"), "email"],
    ["password", t("account.password"), "password"]], t("account.sign_up"), async (data) => {
    await api("POST", "/v1/auth/register", { body: data });
    await shopper.login(data.email, data.password);
    location.hash = "#map";
  });
  signIn.id = "sign-in";
  signUp.id = "sign-up";
  show(h("h2", {}, t("account.sign_in")), signIn, h("h2", {}, t("account.sign_up")), signUp);
}

// --- routing --------------------------------------------------------------------------------

const VIEWS = {
  map: mapView, store: storeView, search: searchView, cart: cartView, reservations: reservationsView,
  reservation: reservationView, wallet: walletView, feed: feedView, account: accountView,
};

async function route() {
  const [name, arg] = (location.hash.slice(1) || "map").split("/");
  for (const link of document.querySelectorAll("#tabs a")) link.classList.toggle("active", link.hash === `#${name}`);
  if (map) { map.remove(); map = null; }
  await (VIEWS[name] || mapView)(arg);
}

await startI18n();
window.addEventListener("hashchange", () => { flash(""); route(); });
route();
