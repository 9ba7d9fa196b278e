// <herald-preferences>: the person's notification preferences (channels, topics and their
// notices, quiet hours, digest), saved to Herald with the same checks and messages as
// `herald prefs set`.
//
//   <script type="module" src="https://herald.example.org/ui/herald-preferences.js"></script>
//   <herald-preferences token="…"></herald-preferences>      (or token-url="/herald-token")
//
// Herald also serves it as a page: https://herald.example.org/ui/preferences#token=…
// Theming: the same custom properties as <herald-inbox>. Event: herald-saved.

import { HeraldProblem, Session, brandSheet, element as h, kindLabel, sheet, translator } from "./herald-core.js";

const CSS = `
:host {
  --_accent: var(--herald-accent, var(--_brand, #1f3a5f));
  --_text: var(--herald-text, #111827);
  --_muted: var(--herald-muted, #5b6472);
  --_surface: var(--herald-surface, #ffffff);
  --_border: var(--herald-border, #e3e6ea);
  --_radius: var(--herald-radius, 12px);
  display: block;
  font-family: var(--herald-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: 15px;
  line-height: 1.5;
  color: var(--_text);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
form { display: grid; gap: 16px; margin: 0; }
.intro h1 { margin: 0; font-size: 24px; line-height: 1.25; font-weight: 700; }
.intro p { margin: 4px 0 0; color: var(--_muted); }
fieldset {
  margin: 0; padding: 18px 20px 20px; min-width: 0;
  background: var(--_surface); border: 1px solid var(--_border); border-radius: var(--_radius);
}
legend { float: left; width: 100%; padding: 0; margin: 0 0 2px; font-size: 17px; font-weight: 650; }
legend + * { clear: both; }
.hint { margin: 0 0 14px; color: var(--_muted); font-size: 14px; }
.rows { display: grid; gap: 2px; }
.switch {
  display: grid; grid-template-columns: 1fr auto; align-items: center; gap: 12px;
  padding: 10px 0; border-top: 1px solid var(--_border);
}
.rows > .switch:first-child { border-top: 0; }
.switch .label { font-weight: 550; }
.switch .sub { display: block; color: var(--_muted); font-size: 13px; font-weight: 400; overflow-wrap: anywhere; }
input[type="checkbox"].toggle {
  appearance: none; position: relative; width: 42px; height: 24px; margin: 0; flex: none;
  border-radius: 12px; background: #cdd2d9; cursor: pointer; transition: background .15s;
}
input[type="checkbox"].toggle::after {
  content: ""; position: absolute; top: 3px; left: 3px; width: 18px; height: 18px;
  border-radius: 50%; background: #fff; box-shadow: 0 1px 2px rgb(0 0 0 / 25%); transition: transform .15s;
}
input[type="checkbox"].toggle:checked { background: var(--_accent); }
input[type="checkbox"].toggle:checked::after { transform: translateX(18px); }
input[type="checkbox"].toggle:disabled { opacity: .45; cursor: default; }
input:focus-visible, select:focus-visible, button:focus-visible, summary:focus-visible {
  outline: 2px solid var(--_accent); outline-offset: 2px;
}
.fields { display: flex; flex-wrap: wrap; gap: 12px 16px; margin-top: 12px; }
.field { display: grid; grid-template-columns: minmax(0, 1fr); gap: 4px; min-width: 0; max-width: 100%; font-size: 13px; color: var(--_muted); font-weight: 550; }
input[type="time"], select {
  font: inherit; font-size: 15px; font-weight: 400; color: var(--_text); min-height: 40px; max-width: 100%;
  padding: 7px 10px; border: 1px solid #c9ced6; border-radius: 8px; background: var(--_surface);
}
input:disabled, select:disabled { opacity: .5; }
.topic { padding: 14px 0; border-top: 1px solid var(--_border); }
.topic:first-of-type { border-top: 0; padding-top: 4px; }
.topic-head { display: grid; grid-template-columns: 1fr minmax(0, 220px); align-items: center; gap: 12px; }
.topic-head .label { font-weight: 600; }
.only { display: flex; flex-wrap: wrap; gap: 6px 16px; margin-top: 10px; }
.only[hidden] { display: none; }
.check { display: inline-flex; align-items: center; gap: 6px; font-size: 14px; }
.check input { width: 17px; height: 17px; accent-color: var(--_accent); margin: 0; }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--_accent); font-size: 14px; font-weight: 550; width: max-content; }
details .rows { margin-top: 6px; padding-inline-start: 12px; border-inline-start: 2px solid var(--_border); }
details .switch { padding: 7px 0; font-size: 14px; }
.note { margin: 0; padding: 12px 14px; border-radius: 8px; background: #f4f6f8; color: var(--_muted); font-size: 14px; }
.bar { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 16px; }
.save {
  font: inherit; font-weight: 650; padding: 10px 20px; min-height: 44px;
  border: 0; border-radius: 8px; background: var(--_accent); color: #fff; cursor: pointer;
}
.save:disabled { opacity: .6; cursor: default; }
.status { margin: 0; font-size: 14px; }
.status.ok { color: #067647; }
.status.bad {
  flex-basis: 100%; padding: 10px 12px; border-radius: 8px;
  background: #fef3f2; color: #b42318; border: 1px solid #fecdca;
}
.loading { color: var(--_muted); }
@media (max-width: 480px) {
  fieldset { padding: 16px; }
  .topic-head { grid-template-columns: 1fr; gap: 6px; }
  .save { width: 100%; }
}
`;

const CHANNEL_LABEL = { email: "channel.email", sms: "channel.sms", whatsapp: "channel.whatsapp", in_app: "channel.in_app" };

function hhmm(value) {
  return typeof value === "string" ? value.slice(0, 5) : "";
}

class HeraldPreferences extends HTMLElement {
  static observedAttributes = ["token"];

  constructor() {
    super();
    this.session = new Session(this);
    this.t = translator(navigator.language);
    this.root = this.attachShadow({ mode: "open" });
    this.root.adoptedStyleSheets = [sheet(CSS)];
  }

  connectedCallback() {
    if (!this.started) {
      this.started = true;
      this.load();
    }
  }

  attributeChangedCallback(name, before, after) {
    if (name === "token" && before !== after && this.started) {
      this.session.forget();
      this.load();
    }
  }

  async load() {
    this.root.replaceChildren(h("p", { class: "loading", role: "status", text: this.t("prefs.loading") }));
    try {
      const [profile, mine] = await Promise.all([this.session.call("GET", "v1/me/profile"), this.session.call("GET", "v1/me/preferences")]);
      this.profile = profile;
      this.t = translator(profile.locale);
      this.root.adoptedStyleSheets = [brandSheet(profile.brand), sheet(CSS)];
      if (this.hasAttribute("standalone")) {
        document.documentElement.lang = profile.locale;
        document.title = `${this.t("prefs.title")} · ${profile.brand.name}`;
      }
      this.render(mine);
    } catch (error) {
      const expired = error instanceof HeraldProblem && error.status === 401;
      this.root.replaceChildren(h("p", { class: "status bad", role: "alert", text: expired ? this.t("error.token") : `${this.t("prefs.error")} ${error.message}` }));
    }
  }

  render(mine) {
    const t = this.t;
    const prefs = mine.preferences;
    const choices = mine.choices;
    this.mine = mine;
    this.inputs = { channels: {}, kinds: {}, topics: {} };

    // Channels
    const channelRows = choices.channels.map((channel) => {
      const chosen = prefs[channel];
      const on = chosen === null || chosen === undefined ? choices.channel_defaults[channel] : chosen;
      const address = channel === "in_app" ? t("address.in_app") : mine.addresses[channel] || t("address.none." + channel);
      const box = h("input", { type: "checkbox", class: "toggle", id: "ch-" + channel, name: channel, checked: on });
      this.inputs.channels[channel] = { box, initial: on };
      return h("label", { class: "switch", for: "ch-" + channel }, h("span", {}, h("span", { class: "label", text: t(CHANNEL_LABEL[channel]) }), h("span", { class: "sub", text: address })), box);
    });

    // Quiet hours
    const quietOn = Boolean(prefs.quiet_start && prefs.quiet_end);
    this.quiet = {
      box: h("input", { type: "checkbox", class: "toggle", id: "quiet", checked: quietOn }),
      from: h("input", { type: "time", id: "quiet-from", name: "quiet-from", value: hhmm(prefs.quiet_start) || "21:00", required: true }),
      to: h("input", { type: "time", id: "quiet-to", name: "quiet-to", value: hhmm(prefs.quiet_end) || "07:30", required: true }),
    };
    this.quiet.initial = quietOn ? `${hhmm(prefs.quiet_start)}-${hhmm(prefs.quiet_end)}` : "off";
    const syncQuiet = () => {
      this.quiet.from.disabled = this.quiet.to.disabled = !this.quiet.box.checked;
    };
    this.quiet.box.addEventListener("change", syncQuiet);
    syncQuiet();

    // Digest
    this.digest = {
      mode: h("select", { id: "digest", name: "digest" }, ["off", "daily", "weekly"].map((m) => h("option", { value: m, text: t("digest." + m) }))),
      at: h("input", { type: "time", id: "digest-at", name: "digest-at", value: hhmm(prefs.digest_at) || "18:00", required: true }),
      day: h(
        "select",
        { id: "digest-day", name: "digest-day" },
        choices.weekdays.map((day, i) => h("option", { value: day, text: this.weekday(i) })),
      ),
    };
    this.digest.mode.value = prefs.digest || "off";
    this.digest.day.value = choices.weekdays[prefs.digest_weekday || 0];
    this.digest.initial = { mode: this.digest.mode.value, at: this.digest.at.value, day: this.digest.day.value };
    const dayField = h("label", { class: "field", for: "digest-day" }, t("prefs.digestDay"), this.digest.day);
    const atField = h("label", { class: "field", for: "digest-at" }, t("prefs.digestAt"), this.digest.at);
    const syncDigest = () => {
      const mode = this.digest.mode.value;
      atField.hidden = mode === "off";
      dayField.hidden = mode !== "weekly";
    };
    this.digest.mode.addEventListener("change", syncDigest);
    syncDigest();

    // Topics and their notices
    const topics = choices.categories.map((category) => this.topic(category, prefs, choices));

    this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    this.saveButton = h("button", { class: "save", type: "submit", text: t("prefs.save") });
    const name = this.profile.name || this.profile.subscriber_id;
    const form = h(
      "form",
      { novalidate: true, onsubmit: (event) => this.save(event) },
      h("div", { class: "intro" }, h("h1", { text: t("prefs.title") }), h("p", { text: t("prefs.for", { name }) })),
      h("fieldset", {}, h("legend", { text: t("prefs.channels") }), h("p", { class: "hint", text: t("prefs.channelsHint") }), h("div", { class: "rows" }, channelRows)),
      h(
        "fieldset",
        {},
        h("legend", { text: t("prefs.quiet") }),
        h("p", { class: "hint", text: t("prefs.quietHint", { zone: this.profile.timezone }) }),
        h("div", { class: "rows" }, h("label", { class: "switch", for: "quiet" }, h("span", { class: "label", text: t("prefs.quietToggle") }), this.quiet.box)),
        h("div", { class: "fields" }, h("label", { class: "field", for: "quiet-from" }, t("prefs.from"), this.quiet.from), h("label", { class: "field", for: "quiet-to" }, t("prefs.to"), this.quiet.to)),
      ),
      h(
        "fieldset",
        {},
        h("legend", { text: t("prefs.digest") }),
        h("p", { class: "hint", text: t("prefs.digestHint") }),
        h("div", { class: "fields" }, h("label", { class: "field", for: "digest" }, t("prefs.digestMode"), this.digest.mode), atField, dayField),
      ),
      h("fieldset", {}, h("legend", { text: t("prefs.topics") }), h("p", { class: "hint", text: t("prefs.topicsHint") }), topics),
      h("p", { class: "note", text: t("prefs.mandatory") }),
      h("div", { class: "bar" }, this.saveButton, this.status),
    );
    this.root.replaceChildren(form);
  }

  weekday(index) {
    // 2024-01-01 was a Monday.
    return new Intl.DateTimeFormat(this.profile.locale, { weekday: "long", timeZone: "UTC" }).format(Date.UTC(2024, 0, 1 + index));
  }

  topic(category, prefs, choices) {
    const t = this.t;
    const value = prefs.categories[category];
    const state = Array.isArray(value) ? "only" : value === false ? "off" : "on";
    const label = t("category." + category);
    const mode = h("select", { id: "topic-" + category, name: "topic-" + category, "aria-label": label }, ["on", "off", "only"].map((m) => h("option", { value: m, text: t("topic." + m) })));
    mode.value = state;
    const only = Array.isArray(value) ? value : [];
    const boxes = {};
    const channelBoxes = h(
      "div",
      { class: "only", role: "group", "aria-label": t("topic.channels", { topic: label }) },
      choices.channels.map((channel) => {
        boxes[channel] = h("input", { type: "checkbox", name: `only-${category}-${channel}`, checked: only.includes(channel) });
        return h("label", { class: "check" }, boxes[channel], t(CHANNEL_LABEL[channel]));
      }),
    );
    const sync = () => {
      channelBoxes.hidden = mode.value !== "only";
    };
    mode.addEventListener("change", sync);
    sync();
    this.inputs.topics[category] = { mode, boxes, initial: JSON.stringify(this.topicValue(mode, boxes)) };

    const kinds = choices.kinds.filter((k) => k.category === category);
    let notices = null;
    if (kinds.length) {
      const rows = kinds.map((k) => {
        const on = prefs.kinds[k.name] !== false;
        const box = h("input", { type: "checkbox", class: "toggle", id: "kind-" + k.name, name: k.name, checked: on });
        this.inputs.kinds[k.name] = { box, initial: on };
        return h("label", { class: "switch", for: "kind-" + k.name }, h("span", { text: kindLabel(this.profile.locale, k.name, k.description) }), box);
      });
      const off = kinds.filter((k) => prefs.kinds[k.name] === false).length;
      notices = h("details", { open: off > 0 }, h("summary", { text: t("topic.notices", { n: kinds.length }) }), h("div", { class: "rows" }, rows));
    }
    return h("div", { class: "topic" }, h("div", { class: "topic-head" }, h("label", { class: "label", for: "topic-" + category, text: label }), mode), channelBoxes, notices);
  }

  topicValue(mode, boxes) {
    if (mode.value === "on") return true;
    if (mode.value === "off") return false;
    return Object.keys(boxes).filter((c) => boxes[c].checked);
  }

  // Only what the person changed is sent: what they never chose stays Herald's default.
  changes() {
    const body = {};
    for (const [channel, { box, initial }] of Object.entries(this.inputs.channels)) {
      if (box.checked !== initial) body[channel] = box.checked;
    }
    const kinds = {};
    for (const [kind, { box, initial }] of Object.entries(this.inputs.kinds)) {
      if (box.checked !== initial) kinds[kind] = box.checked;
    }
    if (Object.keys(kinds).length) body.reminders = kinds;
    const topics = {};
    for (const [category, { mode, boxes, initial }] of Object.entries(this.inputs.topics)) {
      const value = this.topicValue(mode, boxes);
      if (JSON.stringify(value) !== initial) topics[category] = value;
    }
    if (Object.keys(topics).length) body.categories = topics;
    const quiet = this.quiet.box.checked ? `${this.quiet.from.value}-${this.quiet.to.value}` : "off";
    if (quiet !== this.quiet.initial) body.quiet_hours = quiet;
    const digest = this.digest;
    if (digest.mode.value !== digest.initial.mode) body.digest = digest.mode.value;
    if (digest.mode.value !== "off" && digest.at.value !== digest.initial.at) body.digest_at = digest.at.value;
    if (digest.mode.value === "weekly" && digest.day.value !== digest.initial.day) body.digest_weekday = digest.day.value;
    return body;
  }

  async save(event) {
    event.preventDefault();
    const t = this.t;
    const body = this.changes();
    this.status.className = "status";
    if (!Object.keys(body).length) {
      this.status.textContent = t("prefs.nothing");
      return;
    }
    this.saveButton.disabled = true;
    this.status.textContent = t("prefs.saving");
    try {
      const saved = await this.session.call("PUT", "v1/me/preferences", body);
      this.render(saved);
      this.status.className = "status ok";
      this.status.textContent = t("prefs.saved");
      this.dispatchEvent(new CustomEvent("herald-saved", { detail: saved.preferences, bubbles: true, composed: true }));
    } catch (error) {
      this.saveButton.disabled = false;
      this.status.className = "status bad";
      this.status.setAttribute("role", "alert");
      // Herald's own one-line reason, word for word the CLI's.
      this.status.textContent = t("prefs.refused", { reason: error.message });
    }
  }
}

if (!customElements.get("herald-preferences")) customElements.define("herald-preferences", HeraldPreferences);

export { HeraldPreferences };
