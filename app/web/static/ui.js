// Small DOM helpers shared by both pages, and the i18next set-up.
import { language } from "./api.js";

export const t = (key, options) => window.i18next.t(key, options);

export async function startI18n() {
  const lang = language();
  const resources = {};
  for (const code of ["en", "zh-CN"]) {
    resources[code] = { translation: await (await fetch(`/web/static/locales/${code}.json`)).json() };
  }
  await window.i18next.init({ lng: lang, fallbackLng: "en", resources });
  document.documentElement.lang = lang;
  const picker = document.getElementById("lang");
  picker.value = lang;
  picker.addEventListener("change", () => {
    localStorage.setItem("shopnear.lang", picker.value);
    location.reload();
  });
  translateStatic();
}

export function translateStatic(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
}

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function show(...nodes) {
  const view = document.getElementById("view");
  view.replaceChildren(...nodes);
}

export function flash(message, error = false) {
  const box = document.getElementById("flash");
  box.textContent = message || "";
  box.className = error ? "error" : "";
}

export function money(cents, currency) {
  if (cents === null || cents === undefined) return "";
  return `${currency || ""} ${(cents / 100).toFixed(2)}`.trim();
}

export function form(fields, submitLabel, onSubmit) {
  const node = h("form", {}, ...fields.map(([name, label, type = "text", value = ""]) =>
    h("label", {}, label, h("input", { name, type, value, required: type !== "hidden", "aria-label": label }))
  ), h("button", { type: "submit" }, submitLabel));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(node).entries());
    try {
      flash("");
      await onSubmit(data);
    } catch (error) {
      flash(error.message, true);
    }
  });
  return node;
}

export async function guarded(action) {
  try {
    flash("");
    return await action();
  } catch (error) {
    flash(error.message, true);
    return null;
  }
}
