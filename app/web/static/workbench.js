// The store workbench: today's pick list and reservations, hand-over by pass or code, the till's
// coupon redemption, a SKU's stock, posts and buyer-show moderation. What is shown follows the
// caller's role (GET /v1/admin/me); the API decides what is allowed.
import { Problem, Session, newKey } from "./api.js";
import { flash, form, guarded, h, show, startI18n, t } from "./ui.js";

const staff = new Session("staff");
const api = (method, path, options) => staff.call(method, path, options);
const TABS = {
  pickups: ["owner", "operator", "store_manager", "service"],
  till: ["owner", "operator", "store_manager"],
  stock: ["owner", "operator", "store_manager"],
  posts: ["owner", "operator"],
  moderation: ["owner", "operator", "service"],
};
const ctx = { me: null, stores: [], store: null };

async function signInView() {
  const box = form([["email", t("account.email"), "email"], ["password", t("account.password"), "password"]],
    t("account.sign_in"), async ({ email, password }) => { await staff.login(email, password); await start(); });
  box.id = "staff-sign-in";
  document.getElementById("tabs").replaceChildren();
  show(h("h2", {}, t("bench.sign_in")), box);
}

function tabs() {
  const nav = document.getElementById("tabs");
  const picker = h("select", { id: "store", "aria-label": t("bench.store"), onchange: (e) => {
    ctx.store = ctx.stores.find((s) => s.id === Number(e.target.value));
    route();
  } }, ...ctx.stores.map((s) => h("option", { value: s.id }, s.name)));
  if (ctx.store) picker.value = ctx.store.id;
  const links = Object.entries(TABS).filter(([, roles]) => roles.includes(ctx.me.role))
    .map(([name]) => h("a", { href: `#${name}` }, t(`bench.${name}`)));
  nav.replaceChildren(...links, picker, h("span", { class: "muted", id: "role" }, t(`roles.${ctx.me.role}`)),
    h("button", { class: "secondary", onclick: async () => { await staff.logout(); signInView(); } }, t("account.sign_out")));
}

// --- pickups ----------------------------------------------------------------------------------

const base = () => `/v1/admin/stores/${ctx.store.id}`;

async function pickupsView() {
  const picklist = h("div", { id: "picklist" });
  const lists = h("div", { id: "reservations" });
  const collect = h("div", { class: "card" }, h("h3", {}, t("bench.collect")),
    form([["pass", t("bench.pass")]], t("bench.collect_pass"), async ({ pass }) => {
      await api("POST", `${base()}/reservations:collect`, { body: { pass } });
      flash(t("bench.collected"));
      route();
    }));
  show(collect, picklist, lists);
  await guarded(async () => {
    try {
      const pick = await api("GET", `${base()}/picklist`);
      picklist.replaceChildren(h("h3", {}, t("bench.picklist")), ...(pick.items || []).map((line) =>
        h("div", { class: "card row picklist-line" }, h("strong", {}, `${line.units} ×`),
          h("span", {}, line.title || line.code || `SKU ${line.sku_id}`))));
    } catch (error) {
      if (!(error instanceof Problem) || error.status !== 404) throw error;
    }
    const sections = [];
    for (const which of ["reserved", "preparing", "ready"]) {
      let page;
      try {
        page = await api("GET", `${base()}/reservations`, { query: { state: which, limit: 50 } });
      } catch (error) {
        if (error instanceof Problem && error.status === 422) continue;  // a state this API lacks
        throw error;
      }
      sections.push(h("h3", {}, t(`states.${which}`)), ...page.items.map((r) => reservationCard(r)));
    }
    lists.replaceChildren(...sections);
  });
}

function reservationCard(r) {
  const code = h("input", { name: "code", placeholder: t("bench.code"), "aria-label": t("bench.code"), size: 8 });
  const reason = h("input", { name: "reason", placeholder: t("bench.reason"), "aria-label": t("bench.reason") });
  const act = (path, body) => guarded(async () => { await api("POST", `${base()}/reservations/${r.id}/${path}`, { body }); route(); });
  const actions = [];
  if (r.state === "reserved") actions.push(h("button", { class: "secondary", onclick: () => act("preparing", {}) }, t("bench.preparing")));
  if (r.state === "reserved" || r.state === "preparing") actions.push(h("button", { onclick: () => act("ready", {}) }, t("bench.ready")));
  if (r.state === "ready") actions.push(code, h("button", { onclick: () => act("pickup", { code: code.value }) }, t("bench.hand_over")));
  actions.push(reason, h("button", { class: "secondary", onclick: () => act("cancel", { reason: reason.value || t("bench.no_reason") }) }, t("bench.cancel")));
  return h("div", { class: "card reservation", "data-reservation-id": r.id },
    h("div", { class: "row" }, h("strong", {}, r.items.map((i) => `${i.qty} × SKU ${i.sku_id}`).join(", ")),
      h("span", { class: "muted" }, new Date(r.created_at).toLocaleTimeString())),
    h("div", { class: "row" }, ...actions));
}

// --- the till, stock, posts, moderation -------------------------------------------------------

function tillView() {
  const out = h("div", { id: "till-result" });
  show(h("h3", {}, t("bench.redeem")), form([["code", t("bench.coupon_code")], ["basket_cents", t("bench.basket"), "number"]],
    t("bench.redeem"), async ({ code, basket_cents }) => {
      const done = await api("POST", `${base()}/coupons:redeem`, { body: { code, basket_cents: Number(basket_cents) } });
      out.textContent = t("bench.redeemed", { discount: (done.discount_cents / 100).toFixed(2) });
    }), out);
}

function stockView() {
  const out = h("div", { id: "stock-result" });
  show(h("h3", {}, t("bench.stock")), form([["sku_id", t("bench.sku"), "number"]], t("bench.look"), async ({ sku_id }) => {
    const row = await api("GET", `${base()}/stock/${sku_id}`);
    out.textContent = t("bench.stock_row", { on_hand: row.on_hand, reserved: row.reserved, channel: row.channel });
  }), out);
}

function postsView() {
  show(h("h3", {}, t("bench.publish")), form([["title", t("bench.post_title")], ["body", t("bench.post_body")]],
    t("bench.publish"), async ({ title, body }) => {
      const post = await api("POST", "/v1/admin/posts", { body: { kind: "article", title, body }, headers: { "Idempotency-Key": newKey() } });
      await api("POST", `/v1/admin/posts/${post.id}/publish`, { body: {} });
      flash(t("bench.published"));
    }));
}

async function moderationView() {
  await guarded(async () => {
    const page = await api("GET", "/v1/admin/buyer-shows", { query: { state: "pending", limit: 50 } });
    show(h("h3", {}, t("bench.moderation")), ...page.items.map((s) => {
      const reason = h("input", { placeholder: t("bench.reason"), "aria-label": t("bench.reason") });
      const act = (verb, body) => guarded(async () => { await api("POST", `/v1/admin/buyer-shows/${s.id}/${verb}`, { body }); route(); });
      return h("div", { class: "card" }, h("p", {}, s.body || ""),
        h("div", { class: "row" }, h("button", { onclick: () => act("approve", {}) }, t("bench.approve")),
          reason, h("button", { class: "secondary", onclick: () => act("reject", { reason: reason.value || t("bench.no_reason") }) }, t("bench.reject"))));
    }));
  });
}

const VIEWS = { pickups: pickupsView, till: tillView, stock: stockView, posts: postsView, moderation: moderationView };

async function route() {
  if (!ctx.me) return;
  tabs();
  const allowed = Object.keys(TABS).filter((name) => TABS[name].includes(ctx.me.role));
  const name = allowed.includes(location.hash.slice(1)) ? location.hash.slice(1) : allowed[0];
  for (const link of document.querySelectorAll("#tabs a")) link.classList.toggle("active", link.hash === `#${name}`);
  if (!ctx.store) return show(h("p", { class: "muted" }, t("bench.no_store")));
  await VIEWS[name]();
}

async function start() {
  const ok = await guarded(async () => {
    ctx.me = await api("GET", "/v1/admin/me");
    ctx.stores = (await api("GET", "/v1/admin/stores", { query: { limit: 100 } })).items;
    ctx.store = ctx.stores[0] || null;
    return true;
  });
  if (!ok) { staff.tokens = null; return signInView(); }
  route();
}

await startI18n();
window.addEventListener("hashchange", () => { flash(""); route(); });
if (staff.signedIn) start(); else signInView();
