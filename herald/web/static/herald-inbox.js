// <herald-inbox>: a bell with the person's unread count, live, and the list of their
// notifications behind it (read, unread, archive and restore, filters, pages).
//
//   <script type="module" src="https://herald.example.org/ui/herald-inbox.js"></script>
//   <herald-inbox token="…"></herald-inbox>             (or token-url="/herald-token")
//
// Attributes: token | token-url | fragment-token (see herald-core.js), api (Herald's
// address; by default the one this file came from), page-size (10), align ("end": the
// list opens leftwards from the bell's right edge; "start": rightwards).
// Theming: --herald-accent, --herald-text, --herald-muted, --herald-surface,
// --herald-border, --herald-radius, --herald-font, --herald-bell-color, --herald-z.
// Events: herald-unread {detail: {unread}}, herald-token-expired.

import {
  HeraldProblem,
  ICONS,
  Session,
  absoluteTime,
  brandSheet,
  element as h,
  icon,
  relativeTime,
  safeLink,
  sheet,
  translator,
} from "./herald-core.js";

const CSS = `
:host {
  --_accent: var(--herald-accent, var(--_brand, #1f3a5f));
  --_text: var(--herald-text, #111827);
  --_muted: var(--herald-muted, #5b6472);
  --_surface: var(--herald-surface, #ffffff);
  --_border: var(--herald-border, #e3e6ea);
  --_radius: var(--herald-radius, 12px);
  --_urgent: #b91c1c;
  --_high: #c2410c;
  position: relative;
  display: inline-block;
  font-family: var(--herald-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: 14px;
  line-height: 1.45;
  color: var(--_text);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; cursor: pointer; }
button:focus-visible, a:focus-visible, select:focus-visible {
  outline: 2px solid var(--_accent); outline-offset: 2px;
}
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.bell {
  position: relative; display: grid; place-items: center;
  width: 40px; height: 40px; border-radius: 50%;
  border: 0; background: transparent; color: var(--herald-bell-color, currentColor);
}
.bell:hover, .bell[aria-expanded="true"] { background: color-mix(in srgb, var(--_accent) 10%, transparent); }
.bell svg { fill: none; stroke: currentColor; stroke-width: 1.8; stroke-linecap: round; stroke-linejoin: round; }
.badge {
  position: absolute; top: 2px; right: 0; min-width: 19px; height: 19px; padding: 0 5px;
  border-radius: 10px; border: 2px solid var(--_surface);
  background: var(--herald-badge, #d92d20); color: #fff;
  font-size: 11px; font-weight: 700; line-height: 15px; text-align: center;
}
.badge[hidden] { display: none; }
.panel {
  position: absolute; top: calc(100% + 8px); right: 0; z-index: var(--herald-z, 1000);
  width: 400px; max-width: calc(100vw - 16px); max-height: min(560px, calc(100vh - 96px));
  display: flex; flex-direction: column;
  background: var(--_surface); border: 1px solid var(--_border); border-radius: var(--_radius);
  box-shadow: 0 12px 32px rgb(16 24 40 / 16%), 0 2px 6px rgb(16 24 40 / 8%);
  overflow: hidden; text-align: start;
}
:host([align="start"]) .panel { right: auto; left: 0; }
.panel[hidden] { display: none; }
header {
  display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 14px 16px 10px;
}
h2 { margin: 0; font-size: 16px; font-weight: 650; }
.head-actions { display: flex; align-items: center; gap: 4px; }
.text-button {
  border: 0; background: none; padding: 6px 8px; border-radius: 6px; white-space: nowrap;
  color: var(--_accent); font-weight: 600; font-size: 13px;
}
.text-button:hover { background: color-mix(in srgb, var(--_accent) 8%, transparent); }
.text-button:disabled { color: var(--_muted); cursor: default; background: none; }
.filters {
  display: flex; align-items: center; gap: 8px; flex-wrap: wrap;
  padding: 0 16px 12px; border-bottom: 1px solid var(--_border);
}
.segments { display: inline-flex; padding: 2px; border-radius: 8px; background: #f1f3f5; }
.segments button {
  border: 0; background: none; padding: 4px 10px; border-radius: 6px;
  font-size: 13px; color: var(--_muted);
}
.segments button[aria-pressed="true"] {
  background: var(--_surface); color: var(--_text); font-weight: 600;
  box-shadow: 0 1px 2px rgb(16 24 40 / 12%);
}
/* Beside the views when there is room, else the whole row under them. */
select {
  flex: 1 1 auto; font: inherit; font-size: 13px; color: var(--_text);
  padding: 5px 28px 5px 10px; border: 1px solid var(--_border); border-radius: 8px;
  background: var(--_surface);
}
ul { list-style: none; margin: 0; padding: 0; overflow-y: auto; flex: 1 1 auto; overscroll-behavior: contain; }
li.item {
  position: relative; display: grid; grid-template-columns: 10px 1fr auto; gap: 10px;
  padding: 12px 12px 12px 16px; border-bottom: 1px solid var(--_border);
}
li.item:last-child { border-bottom: 0; }
li.item.unread { background: color-mix(in srgb, var(--_accent) 5%, var(--_surface)); }
li.item::before {
  content: ""; position: absolute; inset: 0 auto 0 0; width: 3px; background: transparent;
}
li.item.priority-urgent::before { background: var(--_urgent); }
li.item.priority-high::before { background: var(--_high); }
.dot { width: 8px; height: 8px; margin-top: 7px; border-radius: 50%; background: transparent; }
li.unread .dot { background: var(--_accent); }
.content { min-width: 0; }
.title { margin: 0; font-weight: 500; overflow-wrap: anywhere; }
li.unread .title { font-weight: 650; }
.title a { color: inherit; text-decoration: none; }
.title a:hover { text-decoration: underline; }
.title a svg { vertical-align: -2px; margin-inline-start: 4px; fill: none; stroke: var(--_muted); stroke-width: 2; stroke-linecap: round; }
.body {
  margin: 2px 0 0; color: var(--_muted); overflow-wrap: anywhere; white-space: pre-line;
  display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden;
}
.meta { margin: 6px 0 0; display: flex; flex-wrap: wrap; align-items: center; gap: 6px; font-size: 12px; color: var(--_muted); }
.tag {
  display: inline-block; padding: 0 6px; border-radius: 4px; font-weight: 650; font-size: 11px;
  letter-spacing: .02em; text-transform: uppercase;
}
.tag.urgent { background: color-mix(in srgb, var(--_urgent) 12%, transparent); color: var(--_urgent); }
.tag.high { background: color-mix(in srgb, var(--_high) 12%, transparent); color: var(--_high); }
.actions { display: flex; flex-direction: column; gap: 2px; }
.icon-button {
  display: grid; place-items: center; width: 30px; height: 30px; padding: 0;
  border: 0; border-radius: 6px; background: none; color: var(--_muted);
}
.icon-button:hover { background: #eef0f3; color: var(--_text); }
.icon-button svg { fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.note { margin: 0; padding: 28px 16px; text-align: center; color: var(--_muted); }
.note[hidden], .more[hidden], .error[hidden] { display: none; }
.error { margin: 12px 16px; padding: 10px 12px; border-radius: 8px; background: #fef3f2; color: #b42318; }
.error button { margin-inline-start: 8px; }
footer { padding: 8px; border-top: 1px solid var(--_border); text-align: center; }
footer:empty, footer:has(> .more[hidden]) { display: none; }
.more { width: 100%; }
@media (max-width: 480px) {
  .panel { position: fixed; left: 8px; right: 8px; width: auto; max-width: none; }
  header { padding: 12px 12px 8px 16px; }
  select { flex: 1 1 100%; max-width: none; margin: 0; }
  :host([align="start"]) .panel { left: 8px; right: 8px; }
}
`;

// The views the segments offer: by read state, or the archived notices (to restore).
const VIEWS = {
  all: { read: null, archived: false },
  unread: { read: false, archived: false },
  read: { read: true, archived: false },
  archived: { read: null, archived: true },
};

class HeraldInbox extends HTMLElement {
  static observedAttributes = ["token"];

  constructor() {
    super();
    this.session = new Session(this);
    this.profile = null;
    this.t = translator(navigator.language);
    this.unread = 0;
    this.items = [];
    this.page = 1;
    this.more = false;
    this.view = "all";
    this.category = "";
    this.stream = null;
    this.retryIn = 2000;
    this.root = this.attachShadow({ mode: "open" });
    this.root.adoptedStyleSheets = [sheet(CSS)];
    this.onOutside = (event) => {
      if (!event.composedPath().includes(this)) this.close(false);
    };
  }

  get read() {
    return VIEWS[this.view].read;
  }

  get archived() {
    return VIEWS[this.view].archived;
  }

  get pageSize() {
    const n = Number.parseInt(this.getAttribute("page-size") || "10", 10);
    return Number.isFinite(n) && n >= 1 && n <= 50 ? n : 10;
  }

  connectedCallback() {
    if (!this.bell) this.build();
    this.start();
  }

  disconnectedCallback() {
    this.stopStream();
    document.removeEventListener("pointerdown", this.onOutside, true);
    clearInterval(this.clock);
  }

  attributeChangedCallback(name, before, after) {
    if (name === "token" && before !== after && this.isConnected && this.bell) {
      this.session.forget();
      this.start();
    }
  }

  build() {
    this.bell = h("button", {
      class: "bell",
      type: "button",
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "panel",
      onclick: () => (this.panel.hidden ? this.open() : this.close(true)),
    });
    this.bell.append(icon(ICONS.bell, 24));
    this.badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    this.bell.append(this.badge);
    this.live = h("span", { class: "sr", role: "status", "aria-live": "polite" });

    this.heading = h("h2", { id: "title" });
    this.readAll = h("button", { class: "text-button", type: "button", onclick: () => this.markAll() });
    this.closeButton = h("button", { class: "icon-button", type: "button", onclick: () => this.close(true) }, icon(ICONS.close, 18));
    this.segments = h("div", { class: "segments", role: "group" });
    this.filterButtons = Object.keys(VIEWS).map((key) =>
      h("button", {
        type: "button",
        "data-filter": key,
        "aria-pressed": String(key === this.view),
        onclick: () => this.filter(key, this.category),
      }),
    );
    this.segments.append(...this.filterButtons);
    this.categories = h("select", { onchange: () => this.filter(this.view, this.categories.value) });
    this.list = h("ul", { "aria-labelledby": "title" });
    this.note = h("p", { class: "note", hidden: true });
    this.problem = h("p", { class: "error", role: "alert", hidden: true });
    this.moreButton = h("button", { class: "text-button more", type: "button", hidden: true, onclick: () => this.load(this.page + 1) });
    this.panel = h(
      "section",
      { id: "panel", class: "panel", role: "dialog", "aria-labelledby": "title", hidden: true },
      h("header", {}, this.heading, h("div", { class: "head-actions" }, this.readAll, this.closeButton)),
      h("div", { class: "filters" }, this.segments, this.categories),
      this.problem,
      this.list,
      this.note,
      h("footer", {}, this.moreButton),
    );
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        this.close(true);
      }
    });
    this.root.append(this.bell, this.live, this.panel);
    this.words();
  }

  // Every label, in the person's language once it is known.
  words() {
    const t = this.t;
    this.heading.textContent = t("panel.title");
    this.readAll.textContent = t("panel.readAll");
    this.closeButton.setAttribute("aria-label", t("panel.close"));
    this.closeButton.title = t("panel.close");
    this.segments.setAttribute("aria-label", t("filter.show"));
    for (const button of this.filterButtons) button.textContent = t("filter." + button.dataset.filter);
    this.categories.setAttribute("aria-label", t("filter.category"));
    const chosen = this.categories.value;
    this.categories.replaceChildren(
      h("option", { value: "", text: t("filter.anyCategory") }),
      ...["loans", "repairs", "leads", "followups", "account", "system"].map((c) => h("option", { value: c, text: t("category." + c) })),
    );
    this.categories.value = chosen;
    this.moreButton.textContent = t("list.more");
    this.showCount(this.unread, false);
  }

  async start() {
    this.stopStream();
    try {
      this.profile = await this.session.call("GET", "v1/me/profile");
    } catch (error) {
      this.fail(error);
      return;
    }
    this.t = translator(this.profile.locale);
    this.root.adoptedStyleSheets = [brandSheet(this.profile.brand), sheet(CSS)];
    this.words();
    this.showCount(this.profile.unread, false);
    this.connect();
    if (!this.panel.hidden) this.load(1);
  }

  // ------------------------------------------------------------ the live count

  async connect() {
    this.stopStream();
    const token = await this.session.token();
    if (!token) return;
    const url = new URL(this.session.url("v1/me/inbox/stream"));
    url.searchParams.set("token", token);
    const stream = new EventSource(url.href);
    this.stream = stream;
    stream.addEventListener("unread", (event) => {
      this.retryIn = 2000;
      const { unread } = JSON.parse(event.data);
      const grew = unread > this.unread;
      this.showCount(unread, true);
      if (grew && !this.panel.hidden) this.load(1);
    });
    stream.addEventListener("expired", async () => {
      stream.close();
      this.session.forget();
      if (await this.session.renew()) this.connect();
    });
    stream.addEventListener("error", () => {
      // EventSource reconnects by itself after a dropped connection; a refused one
      // (401: the token expired meanwhile) is closed for good: get a new token first.
      if (stream.readyState !== EventSource.CLOSED || this.stream !== stream) return;
      this.stream = null;
      const wait = this.retryIn;
      this.retryIn = Math.min(this.retryIn * 2, 60000);
      this.reconnect = setTimeout(() => this.start(), wait);
    });
  }

  stopStream() {
    clearTimeout(this.reconnect);
    if (this.stream) this.stream.close();
    this.stream = null;
  }

  showCount(unread, announce) {
    const changed = unread !== this.unread;
    this.unread = unread;
    this.badge.hidden = unread === 0;
    this.badge.textContent = unread > 99 ? "99+" : String(unread);
    this.bell.setAttribute("aria-label", unread ? this.t("bell.unread", { n: unread }) : this.t("bell.none"));
    this.readAll.disabled = unread === 0;
    if (announce && changed) {
      this.live.textContent = this.t("live.unread", { n: unread });
      this.dispatchEvent(new CustomEvent("herald-unread", { detail: { unread }, bubbles: true, composed: true }));
    }
  }

  // ------------------------------------------------------------ the list

  open() {
    this.panel.hidden = false;
    this.bell.setAttribute("aria-expanded", "true");
    this.place();
    document.addEventListener("pointerdown", this.onOutside, true);
    this.clock = setInterval(() => this.retime(), 60000);
    this.load(1);
    this.heading.setAttribute("tabindex", "-1");
    this.panel.querySelector("[aria-pressed='true']")?.focus();
  }

  close(refocus) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.bell.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", this.onOutside, true);
    clearInterval(this.clock);
    if (refocus) this.bell.focus();
  }

  // On a phone the list spans the screen just under the bell.
  place() {
    if (window.matchMedia("(max-width: 480px)").matches) {
      const below = Math.round(this.bell.getBoundingClientRect().bottom + 8);
      this.panel.style.top = below + "px";
      this.panel.style.maxHeight = Math.max(240, window.innerHeight - below - 16) + "px";
    } else {
      this.panel.style.top = "";
      this.panel.style.maxHeight = "";
    }
  }

  filter(view, category) {
    this.view = view;
    this.category = category;
    for (const button of this.filterButtons) button.setAttribute("aria-pressed", String(button.dataset.filter === view));
    // "Mark all as read" is for the notices in the list, not the archive.
    this.readAll.hidden = this.archived;
    this.load(1);
  }

  async load(page) {
    const query = new URLSearchParams({ page: String(page), page_size: String(this.pageSize) });
    if (this.read !== null) query.set("read", String(this.read));
    if (this.archived) query.set("archived", "true");
    if (this.category) query.set("category", this.category);
    this.list.setAttribute("aria-busy", "true");
    if (page === 1 && !this.items.length) this.say(this.t("list.loading"));
    let rows;
    try {
      rows = await this.session.call("GET", "v1/me/inbox?" + query);
    } catch (error) {
      this.list.setAttribute("aria-busy", "false");
      this.fail(error);
      return;
    }
    this.problem.hidden = true;
    const seen = new Set(page === 1 ? [] : this.items.map((n) => n.id));
    this.items = page === 1 ? rows : [...this.items, ...rows.filter((n) => !seen.has(n.id))];
    this.page = page;
    this.more = rows.length === this.pageSize;
    this.render();
    this.list.setAttribute("aria-busy", "false");
  }

  say(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  render() {
    this.list.replaceChildren(...this.items.map((n) => this.row(n)));
    const empty = this.archived ? "list.emptyArchived" : this.view !== "all" || this.category ? "list.emptyFiltered" : "list.empty";
    this.say(this.items.length ? "" : this.t(empty));
    this.moreButton.hidden = !this.more;
  }

  row(n) {
    const t = this.t;
    const locale = this.profile.locale;
    const zone = this.profile.timezone;
    const link = n.link ? safeLink(n.link) : null;
    const title = link
      ? h("a", { href: link, target: "_blank", rel: "noopener noreferrer", onclick: () => !n.read && this.mark(n, true) }, n.title, icon(ICONS.external, 13))
      : n.title;
    const tag = t("priority." + n.priority);
    const when = h("time", { datetime: n.created_at, title: absoluteTime(n.created_at, locale, zone), "data-created": n.created_at }, relativeTime(n.created_at, locale, zone));
    const meta = h(
      "p",
      { class: "meta" },
      tag ? h("span", { class: "tag " + n.priority, text: tag }) : null,
      when,
      n.category ? h("span", { "aria-hidden": "true", text: "·" }) : null,
      n.category ? h("span", { text: t("category." + n.category) }) : null,
    );
    const toggle = h(
      "button",
      {
        class: "icon-button",
        type: "button",
        "data-action": n.read ? "unread" : "read",
        title: t(n.read ? "item.unread" : "item.read"),
        "aria-label": t(n.read ? "item.unread" : "item.read") + ": " + n.title,
        onclick: () => this.mark(n, !n.read),
      },
      icon(n.read ? ICONS.dot : ICONS.check, 18),
    );
    const archive = h(
      "button",
      {
        class: "icon-button",
        type: "button",
        "data-action": "archive",
        title: t("item.archive"),
        "aria-label": t("item.archive") + ": " + n.title,
        onclick: () => this.archive(n),
      },
      icon(ICONS.archive, 18),
    );
    const restore = h(
      "button",
      {
        class: "icon-button",
        type: "button",
        "data-action": "unarchive",
        title: t("item.restore"),
        "aria-label": t("item.restore") + ": " + n.title,
        onclick: () => this.restore(n),
      },
      icon(ICONS.restore, 18),
    );
    return h(
      "li",
      { class: `item priority-${n.priority}${n.read ? "" : " unread"}`, "data-id": n.id, "data-kind": n.kind },
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("div", { class: "content" }, h("p", { class: "title" }, n.read ? null : h("span", { class: "sr", text: t("item.new") + ": " }), title), n.body ? h("p", { class: "body", text: n.body }) : null, meta),
      h("div", { class: "actions" }, ...(n.archived ? [restore] : [toggle, archive])),
    );
  }

  retime() {
    for (const when of this.list.querySelectorAll("time[data-created]")) {
      when.textContent = relativeTime(when.dataset.created, this.profile.locale, this.profile.timezone);
    }
  }

  // ------------------------------------------------------------ changes

  async mark(n, read) {
    try {
      const answer = await this.session.call("POST", read ? "v1/me/inbox/read" : "v1/me/inbox/unread", { notification_ids: [n.id] });
      if (read ? answer.marked_read : answer.changed) n.read = read;
      this.refresh(n.id);
      await this.recount();
    } catch (error) {
      this.fail(error);
    }
  }

  async markAll() {
    try {
      await this.session.call("POST", "v1/me/inbox/read", { notification_ids: null });
      for (const n of this.items) n.read = true;
      if (this.read === false) this.items = [];
      this.render();
      await this.recount();
    } catch (error) {
      this.fail(error);
    }
  }

  async archive(n) {
    try {
      await this.session.call("POST", "v1/me/inbox/archive", { notification_ids: [n.id] });
      this.items = this.items.filter((other) => other.id !== n.id);
      this.render();
      this.list.querySelector("button")?.focus();
      await this.recount();
    } catch (error) {
      this.fail(error);
    }
  }

  // Back from the archive: it leaves the archived view (and counts again if unread).
  async restore(n) {
    try {
      await this.session.call("POST", "v1/me/inbox/unarchive", { notification_ids: [n.id] });
      this.items = this.items.filter((other) => other.id !== n.id);
      this.render();
      this.list.querySelector("button")?.focus();
      await this.recount();
    } catch (error) {
      this.fail(error);
    }
  }

  // The count from Herald after a change (the stream says so too, in whichever order).
  async recount() {
    const { unread } = await this.session.call("GET", "v1/me/inbox/unread-count");
    this.showCount(unread, true);
  }

  // Redraw after a change, keeping the keyboard where it was; a notice that no longer
  // matches the read filter leaves the list.
  refresh(id) {
    if (this.read !== null) this.items = this.items.filter((n) => n.read === this.read);
    this.render();
    const again = this.list.querySelector(`li[data-id="${id}"] [data-action]`);
    if (again) again.focus();
  }

  fail(error) {
    const expired = error instanceof HeraldProblem && error.status === 401;
    this.problem.replaceChildren(
      expired ? this.t("error.token") : this.t("list.error"),
      expired ? "" : h("button", { class: "text-button", type: "button", text: this.t("list.retry"), onclick: () => this.start() }),
    );
    this.problem.hidden = false;
    this.say("");
    if (!this.panel.hidden) this.list.replaceChildren();
    if (!expired) console.warn("herald-inbox:", error.message);
  }
}

if (!customElements.get("herald-inbox")) customElements.define("herald-inbox", HeraldInbox);

export { HeraldInbox };
