// Herald's browser components share this module: the subscriber token and the calls to
// /v1/me/..., the French and English strings, and dates in the person's language and zone.
// Plain ES module: no framework, no bundler, nothing from elsewhere.

// Herald's own address: this file is served at <herald>/ui/herald-core.js.
export const HERALD_BASE = new URL("../", import.meta.url).href;

export class HeraldProblem extends Error {
  constructor(status, detail, field) {
    super(detail);
    this.status = status;
    this.field = field || null;
  }
}

// Where a component gets its subscriber token, in this order:
//   token="…"          set by the page (a server-rendered page puts it there);
//   token-url="/path"  fetched from the application (same origin as the page, its cookies),
//                      answering {"token": "…"} or the token as text; fetched again when
//                      the token expires;
//   fragment-token     read from the page address's #token=… (then removed from it).
// Without a way to renew it, an expired token fires "herald-token-expired" on the element:
// set a new token attribute and the component carries on.
export class Session {
  constructor(element) {
    this.element = element;
    this.current = null;
    this.pending = null;
  }

  get base() {
    const given = this.element.getAttribute("api");
    return given ? new URL(given.endsWith("/") ? given : given + "/", document.baseURI).href : HERALD_BASE;
  }

  url(path) {
    return new URL(path, this.base).href;
  }

  forget() {
    this.current = null;
  }

  async token() {
    const given = this.element.getAttribute("token");
    if (given) return given;
    if (this.current) return this.current;
    if (this.element.hasAttribute("fragment-token")) {
      const params = new URLSearchParams(location.hash.slice(1));
      const found = params.get("token");
      if (found) {
        this.current = found;
        params.delete("token");
        const rest = params.toString();
        history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
        return found;
      }
    }
    return this.renew();
  }

  // A new token from token-url; null when the page gave no way to get one.
  async renew() {
    const source = this.element.getAttribute("token-url");
    if (!source) {
      this.element.dispatchEvent(new CustomEvent("herald-token-expired", { bubbles: true, composed: true }));
      return null;
    }
    if (!this.pending) {
      this.pending = (async () => {
        try {
          const response = await fetch(source, { credentials: "same-origin", headers: { Accept: "application/json, text/plain" } });
          if (!response.ok) return null;
          const text = (await response.text()).trim();
          let token = text;
          if (text.startsWith("{")) token = JSON.parse(text).token;
          this.current = token || null;
          return this.current;
        } catch {
          return null;
        } finally {
          this.pending = null;
        }
      })();
    }
    return this.pending;
  }

  async call(method, path, body) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = await this.token();
      if (!token) throw new HeraldProblem(401, "no subscriber token");
      const headers = { Authorization: "Bearer " + token, Accept: "application/json" };
      const init = { method, headers, credentials: "omit", cache: "no-store" };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const response = await fetch(this.url(path), init);
      if (response.status === 401 && attempt === 0 && !this.element.getAttribute("token")) {
        this.forget();
        if (await this.renew()) continue;
      }
      if (!response.ok) {
        let detail = response.statusText || "HTTP " + response.status;
        let field = null;
        try {
          const problem = await response.json();
          detail = problem.detail || problem.title || detail;
          field = problem.field || null;
        } catch {
          // not problem+json: keep the status text
        }
        if (response.status === 401) this.element.dispatchEvent(new CustomEvent("herald-token-expired", { bubbles: true, composed: true }));
        throw new HeraldProblem(response.status, detail, field);
      }
      return response.json();
    }
    throw new HeraldProblem(401, "no subscriber token");
  }
}

// ------------------------------------------------------------------ words

const STRINGS = {
  en: {
    "bell.label": "Notifications",
    "bell.unread": { one: "Notifications, {n} unread", other: "Notifications, {n} unread" },
    "bell.none": "Notifications, none unread",
    "live.unread": { one: "{n} unread notification", other: "{n} unread notifications" },
    "panel.title": "Notifications",
    "panel.readAll": "Mark all as read",
    "panel.close": "Close",
    "filter.show": "Show",
    "filter.all": "All",
    "filter.unread": "Unread",
    "filter.read": "Read",
    "filter.archived": "Archived",
    "filter.category": "Category",
    "filter.anyCategory": "All categories",
    "list.empty": "You're all caught up.",
    "list.emptyFiltered": "Nothing here with these filters.",
    "list.emptyArchived": "No archived notifications.",
    "list.more": "Show more",
    "list.loading": "Loading…",
    "list.error": "Could not load your notifications.",
    "list.retry": "Try again",
    "item.read": "Mark as read",
    "item.unread": "Mark as unread",
    "item.archive": "Archive",
    "item.restore": "Restore",
    "item.open": "Open",
    "item.new": "New",
    "priority.urgent": "Urgent",
    "priority.high": "Important",
    "priority.medium": "",
    "priority.low": "",
    "category.loans": "Loans",
    "category.repairs": "Repairs",
    "category.leads": "Leads",
    "category.followups": "Follow-ups",
    "category.account": "Account",
    "category.system": "System",
    "error.token": "Your session has expired. Reload the page to see your notifications.",
    "prefs.title": "Notification preferences",
    "prefs.for": "For {name}",
    "prefs.loading": "Loading your preferences…",
    "prefs.channels": "Channels",
    "prefs.channelsHint": "Where Herald may reach you.",
    "channel.email": "E-mail",
    "channel.sms": "SMS",
    "channel.whatsapp": "WhatsApp",
    "channel.in_app": "In the application",
    "address.none.email": "No e-mail address on file",
    "address.none.sms": "No mobile number on file",
    "address.none.whatsapp": "No WhatsApp number on file",
    "address.in_app": "The bell in the application",
    "prefs.quiet": "Quiet hours",
    "prefs.quietToggle": "Hold notices during quiet hours",
    "prefs.quietHint": "Times in {zone}. Urgent notices still come through; the others wait until the end.",
    "prefs.from": "From",
    "prefs.to": "To",
    "prefs.digest": "Digest",
    "prefs.digestHint": "Gather everyday notices (medium and low priority) into one message a day or a week; off, each comes as it happens.",
    "prefs.digestMode": "Digest",
    "digest.off": "Off",
    "digest.daily": "Daily",
    "digest.weekly": "Weekly",
    "prefs.digestAt": "At",
    "prefs.digestDay": "On",
    "prefs.topics": "Topics",
    "prefs.topicsHint": "Switch off a whole topic, keep it to some channels, or pick the notices you want.",
    "topic.on": "On, every channel",
    "topic.off": "Off",
    "topic.only": "Only some channels",
    "topic.channels": "Channels for {topic}",
    "topic.notices": { one: "{n} notice", other: "{n} notices" },
    "prefs.mandatory": "Confirmations, overdue alerts and return notices always reach you.",
    "prefs.save": "Save preferences",
    "prefs.saving": "Saving…",
    "prefs.saved": "Preferences saved.",
    "prefs.nothing": "Nothing changed.",
    "prefs.refused": "Not saved: {reason}",
    "prefs.error": "Could not load your preferences.",
  },
  fr: {
    "bell.label": "Notifications",
    "bell.unread": { one: "Notifications, {n} non lue", other: "Notifications, {n} non lues" },
    "bell.none": "Notifications, aucune non lue",
    "live.unread": { one: "{n} notification non lue", other: "{n} notifications non lues" },
    "panel.title": "Notifications",
    "panel.readAll": "Tout marquer comme lu",
    "panel.close": "Fermer",
    "filter.show": "Afficher",
    "filter.all": "Toutes",
    "filter.unread": "Non lues",
    "filter.read": "Lues",
    "filter.archived": "Archivées",
    "filter.category": "Catégorie",
    "filter.anyCategory": "Toutes les catégories",
    "list.empty": "Vous êtes à jour.",
    "list.emptyFiltered": "Rien avec ces filtres.",
    "list.emptyArchived": "Aucune notification archivée.",
    "list.more": "Afficher plus",
    "list.loading": "Chargement…",
    "list.error": "Impossible de charger vos notifications.",
    "list.retry": "Réessayer",
    "item.read": "Marquer comme lue",
    "item.unread": "Marquer comme non lue",
    "item.archive": "Archiver",
    "item.restore": "Restaurer",
    "item.open": "Ouvrir",
    "item.new": "Nouveau",
    "priority.urgent": "Urgent",
    "priority.high": "Important",
    "priority.medium": "",
    "priority.low": "",
    "category.loans": "Prêts",
    "category.repairs": "Réparations",
    "category.leads": "Prospects",
    "category.followups": "Relances",
    "category.account": "Compte",
    "category.system": "Système",
    "error.token": "Votre session a expiré. Rechargez la page pour voir vos notifications.",
    "prefs.title": "Préférences de notification",
    "prefs.for": "Pour {name}",
    "prefs.loading": "Chargement de vos préférences…",
    "prefs.channels": "Canaux",
    "prefs.channelsHint": "Par où Herald peut vous joindre.",
    "channel.email": "E-mail",
    "channel.sms": "SMS",
    "channel.whatsapp": "WhatsApp",
    "channel.in_app": "Dans l’application",
    "address.none.email": "Aucune adresse e-mail enregistrée",
    "address.none.sms": "Aucun numéro de mobile enregistré",
    "address.none.whatsapp": "Aucun numéro WhatsApp enregistré",
    "address.in_app": "La cloche de l’application",
    "prefs.quiet": "Heures calmes",
    "prefs.quietToggle": "Retenir les notifications pendant les heures calmes",
    "prefs.quietHint": "Heures de {zone}. Les notifications urgentes passent toujours ; les autres attendent la fin.",
    "prefs.from": "De",
    "prefs.to": "À",
    "prefs.digest": "Résumé",
    "prefs.digestHint": "Regrouper les notifications courantes (priorité moyenne et basse) en un message par jour ou par semaine ; désactivé, chacune arrive à son heure.",
    "prefs.digestMode": "Résumé",
    "digest.off": "Désactivé",
    "digest.daily": "Quotidien",
    "digest.weekly": "Hebdomadaire",
    "prefs.digestAt": "À",
    "prefs.digestDay": "Le",
    "prefs.topics": "Sujets",
    "prefs.topicsHint": "Coupez un sujet entier, limitez-le à certains canaux, ou choisissez les notifications voulues.",
    "topic.on": "Activé, tous les canaux",
    "topic.off": "Désactivé",
    "topic.only": "Certains canaux seulement",
    "topic.channels": "Canaux pour {topic}",
    "topic.notices": { one: "{n} notification", other: "{n} notifications" },
    "prefs.mandatory": "Les confirmations, les alertes de retard et les avis de retour vous parviennent toujours.",
    "prefs.save": "Enregistrer",
    "prefs.saving": "Enregistrement…",
    "prefs.saved": "Préférences enregistrées.",
    "prefs.nothing": "Aucun changement.",
    "prefs.refused": "Non enregistré : {reason}",
    "prefs.error": "Impossible de charger vos préférences.",
  },
};

// The notices a person may switch off, in words (the server's description otherwise).
const KIND_LABELS = {
  en: {
    "loan.reminder_j2": "Two days before the due date (08:00)",
    "loan.reminder_j1": "The day before the due date (08:00)",
    "loan.due_today": "On the due date (08:00)",
    "loan.reminder_2h": "Two hours before the due time",
    "repair.created": "Request received",
    "repair.approved": "Repair approved",
    "repair.denied": "Repair denied",
    "repair.assigned": "Repair assigned to a technician",
    "repair.reassigned_away": "Repair given to another technician",
    "repair.in_progress": "Work started",
    "repair.completed": "Repair completed",
    "repair.batch_approved": "Several repairs approved",
    "repair.batch_denied": "Several repairs denied",
    "repair.batch": "Several repair notices in one",
    "repair.reward_redeemed": "A technician's reward redeemed",
    "repair.unassigned": "Approved repair still without a technician",
    "staff.notice": "Staff alerts",
    "followup.due_tomorrow": "Follow-up due tomorrow",
    "followup.overdue": "Follow-up overdue",
    "lead.created": "New lead",
    "lead.stage_changed": "Lead won, lost or invoiced",
    "lead.assigned": "Lead assigned to you",
    "lead.reassigned_away": "Lead given to someone else",
    "lead.fulfilment_changed": "Lead fulfilment status",
    "user.welcome": "Welcome to a new account",
    "user.role_changed": "Your role changed",
    "user.activated": "Your account is active",
    "user.deactivated": "Your account is deactivated",
  },
  fr: {
    "loan.reminder_j2": "Deux jours avant l’échéance (8 h)",
    "loan.reminder_j1": "La veille de l’échéance (8 h)",
    "loan.due_today": "Le jour de l’échéance (8 h)",
    "loan.reminder_2h": "Deux heures avant l’échéance",
    "repair.created": "Demande reçue",
    "repair.approved": "Réparation approuvée",
    "repair.denied": "Réparation refusée",
    "repair.assigned": "Réparation confiée à un technicien",
    "repair.reassigned_away": "Réparation confiée à un autre technicien",
    "repair.in_progress": "Travaux commencés",
    "repair.completed": "Réparation terminée",
    "repair.batch_approved": "Plusieurs réparations approuvées",
    "repair.batch_denied": "Plusieurs réparations refusées",
    "repair.batch": "Plusieurs avis de réparation en un",
    "repair.reward_redeemed": "Récompense d’un technicien utilisée",
    "repair.unassigned": "Réparation approuvée toujours sans technicien",
    "staff.notice": "Alertes du personnel",
    "followup.due_tomorrow": "Relance prévue demain",
    "followup.overdue": "Relance en retard",
    "lead.created": "Nouveau prospect",
    "lead.stage_changed": "Prospect gagné, perdu ou facturé",
    "lead.assigned": "Prospect qui vous est attribué",
    "lead.reassigned_away": "Prospect attribué à quelqu’un d’autre",
    "lead.fulfilment_changed": "Suivi de la commande d’un prospect",
    "user.welcome": "Bienvenue sur un nouveau compte",
    "user.role_changed": "Votre rôle a changé",
    "user.activated": "Votre compte est actif",
    "user.deactivated": "Votre compte est désactivé",
  },
};

export function language(locale) {
  const base = String(locale || "").toLowerCase().split(/[-_]/)[0];
  return base in STRINGS ? base : "en";
}

// t("key", {n: 3}) in the person's language; plural entries pick their form by n.
export function translator(locale) {
  const lang = language(locale);
  const words = STRINGS[lang];
  const plural = new Intl.PluralRules(lang);
  return (key, vars = {}) => {
    let text = words[key] ?? STRINGS.en[key] ?? key;
    if (typeof text === "object") text = text[plural.select(vars.n ?? 0)] ?? text.other;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
  };
}

export function kindLabel(locale, kind, fallback) {
  return KIND_LABELS[language(locale)][kind] || fallback || kind;
}

// ------------------------------------------------------------------ time

// "now", "3 minutes ago", "yesterday", "il y a 2 heures"; a date after a week.
export function relativeTime(iso, locale, timeZone, now = Date.now()) {
  const then = Date.parse(iso);
  const seconds = Math.round((then - now) / 1000);
  const size = Math.abs(seconds);
  const lang = language(locale);
  if (size >= 7 * 86400) {
    const year = (at) => new Intl.DateTimeFormat("en", { timeZone, year: "numeric" }).format(at);
    return new Intl.DateTimeFormat(lang, {
      timeZone,
      day: "numeric",
      month: "short",
      ...(year(then) === year(now) ? {} : { year: "numeric" }),
    }).format(then);
  }
  const words = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  if (size < 45) return words.format(0, "second");
  if (size < 45 * 60) return words.format(Math.round(seconds / 60), "minute");
  if (size < 22 * 3600) return words.format(Math.round(seconds / 3600), "hour");
  return words.format(Math.round(seconds / 86400), "day");
}

export function absoluteTime(iso, locale, timeZone) {
  return new Intl.DateTimeFormat(language(locale), { timeZone, dateStyle: "full", timeStyle: "short" }).format(Date.parse(iso));
}

// ------------------------------------------------------------------ look

// A constructed style sheet: allowed under a page's strict CSP (no inline <style>).
export function sheet(css) {
  const made = new CSSStyleSheet();
  made.replaceSync(css);
  return made;
}

const HEX = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

// The brand's colours, as defaults the page can override with --herald-accent.
export function brandSheet(brand) {
  const accent = HEX.test(brand?.color || "") ? brand.color : "#1f3a5f";
  const band = HEX.test(brand?.secondary_color || "") ? brand.secondary_color : "#f9fafb";
  return sheet(`:host { --_brand: ${accent}; --_band: ${band}; }`);
}

export function element(tag, attributes = {}, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") made.className = value;
    else if (name === "text") made.textContent = value;
    else if (name.startsWith("on")) made.addEventListener(name.slice(2), value);
    else made.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    made.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return made;
}

export function icon(paths, size = 20) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of paths) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export const ICONS = {
  bell: [
    "M12 3a6 6 0 0 0-6 6v3.6l-1.7 2.9A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.5L18 12.6V9a6 6 0 0 0-6-6z",
    "M9.5 19a2.5 2.5 0 0 0 5 0",
  ],
  check: ["M5 12.5l4.2 4.2L19 7"],
  dot: ["M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8z"],
  archive: ["M4 5h16v4H4z", "M5.5 9v9.5a1 1 0 0 0 1 1h11a1 1 0 0 0 1-1V9", "M10 13h4"],
  restore: ["M4 5h16v4H4z", "M5.5 9v9.5a1 1 0 0 0 1 1h11a1 1 0 0 0 1-1V9", "M12 17.5V12", "M9.5 14.5L12 12l2.5 2.5"],
  close: ["M6 6l12 12", "M18 6L6 18"],
  external: ["M14 4h6v6", "M20 4l-9 9", "M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"],
};

// Only web links open from a notice.
export function safeLink(link) {
  try {
    const url = new URL(link);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}
