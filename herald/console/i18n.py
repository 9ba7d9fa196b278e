"""Every string of the ops console, in English and French, and the formatting of numbers,
durations and dates in each: one catalogue, so a page never holds a sentence of its own.

A page's text is ``t("key", name=value)``; a key missing from a language is a test failure
(both catalogues must have the same keys), never a blank on a page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "app.title": "Ops console",
        "lang.switch": "Français",
        "lang.switch_label": "Lire la console en français",
        "nav.label": "Console sections",
        "nav.dashboard": "Dashboard",
        "nav.failures": "Failures",
        "nav.test_send": "Test send",
        "nav.templates": "Templates",
        "nav.subjects": "Loans, repairs, follow-ups",
        "nav.health": "Schedules & health",
        "nav.signed_in_as": "Signed in as {who}",
        "nav.logout": "Sign out",
        "nav.skip": "Skip to the content",
        # login
        "login.title": "Sign in",
        "login.lead": "Herald's ops console: deliveries, failures, test sends, templates, "
        "loans, repairs and follow-ups, schedules and health.",
        "login.secret": "Ops API key or console password",
        "login.secret_help": "An API key of scope ops (herald api-key create NAME --scope ops) "
        "or the password set in HERALD_CONSOLE_PASSWORD.",
        "login.submit": "Sign in",
        "login.refused": "That key or password was not accepted.",
        "login.app_key": "That API key has scope app: the console needs an ops key.",
        "login.locked": "Too many failed attempts from this address. Try again in {minutes} min.",
        "login.nothing_configured": "No way to sign in is set up yet: create an ops key with "
        "herald api-key create NAME --scope ops, or set HERALD_CONSOLE_PASSWORD.",
        "login.expired": "Your session has ended. Please sign in again.",
        "login.signed_out": "You are signed out.",
        "login.who_password": "console password",
        "login.who_key": "ops key {name}",
        # errors
        "error.csrf_title": "This form cannot be accepted",
        "error.csrf": "It has expired or did not come from this console. Go back, reload the "
        "page and try again.",
        "error.not_found_title": "Page not found",
        "error.not_found": "There is nothing at this address.",
        "error.back": "Back to the dashboard",
        "error.generic_title": "Something went wrong",
        "error.invalid": "Refused: {reason}",
        # dashboard
        "dash.title": "Dashboard",
        "dash.window": "Period",
        "dash.window.24h": "Last 24 hours",
        "dash.window.7d": "Last 7 days",
        "dash.deliveries": "Deliveries",
        "dash.deliveries_other": "{count} over the last 7 days",
        "dash.deliveries_other_24h": "{count} over the last 24 hours",
        "dash.failure_rate": "Failure rate",
        "dash.failure_detail": "{failed} failed of {settled} settled",
        "dash.no_settled": "nothing settled yet",
        "dash.sms": "SMS",
        "dash.sms_detail": "{messages} messages, {segments} segments",
        "dash.sms_cost": "estimated cost",
        "dash.lateness": "Lateness",
        "dash.lateness_median": "median",
        "dash.lateness_p99": "p99",
        "dash.lateness_detail": "sent minus scheduled, {count} messages",
        "dash.stuck": "Stuck",
        "dash.stuck_detail": "pending or failing for over {duration}",
        "dash.stuck_link": "See the failures",
        "dash.per_day": "Deliveries per day",
        "dash.per_day_caption": "Deliveries per day and channel, last 7 days ({timezone})",
        "dash.day": "Day",
        "dash.total": "Total",
        "dash.by_channel": "By channel and status",
        "dash.channel": "Channel",
        "dash.busiest": "Busiest kinds",
        "dash.kind": "Kind",
        "dash.count": "Messages",
        "dash.share": "Share",
        "dash.empty": "No delivery in this period.",
        "dash.generated": "Figures of {when}.",
        # failures
        "fail.title": "Failures",
        "fail.lead": "Deliveries that failed for good, and those stuck: pending or failing "
        "for over {duration} since they were planned.",
        "fail.failed": "Failed for good",
        "fail.stuck": "Stuck",
        "fail.none_failed": "No delivery has failed for good.",
        "fail.none_stuck": "Nothing is stuck.",
        "fail.id": "#",
        "fail.when": "Planned",
        "fail.kind": "Kind",
        "fail.subject": "Subject",
        "fail.channel": "Channel",
        "fail.recipient": "Recipient",
        "fail.provider": "Provider",
        "fail.reason": "Reason",
        "fail.status": "Status",
        "fail.attempts": "Attempts",
        "fail.action": "Action",
        "fail.resend": "Resend",
        "fail.resent_as": "Resent as #{id} ({status})",
        "fail.resent": "Delivery #{original} resent as delivery #{id}: a new attempt, logged "
        "as its resend.",
        "fail.resend_refused": "Delivery #{id} was not resent: {reason}",
        # test send
        "test.title": "Test send",
        "test.lead": "Send a short test message through a channel's configured providers, "
        "with the same failover as the worker, and see which provider answered.",
        "test.channel": "Channel",
        "test.address": "Address",
        "test.address_help": "An e-mail address, or a phone number for SMS and WhatsApp.",
        "test.submit": "Send the test",
        "test.chain": "Providers, in failover order",
        "test.off": "off",
        "test.sent": "Sent through {provider}.",
        "test.message_id": "Provider's message id",
        "test.to": "To",
        "test.failed": "Not sent: {reason}",
        "test.refused": "Refused: {reason}",
        # templates
        "tpl.title": "Templates",
        "tpl.lead": "Every notice as it would be sent, with sample data, in both languages "
        "and every format; the admin templates of staff alerts, checked before they are saved.",
        "tpl.builtin": "Built-in kinds",
        "tpl.admin": "Admin templates",
        "tpl.kind": "Kind",
        "tpl.description": "What it is",
        "tpl.preview": "Preview",
        "tpl.name": "Name",
        "tpl.locales": "Languages",
        "tpl.subject": "Subject",
        "tpl.body": "Body",
        "tpl.short": "Short text (SMS, WhatsApp)",
        "tpl.short_help": "Optional: without it, SMS and WhatsApp get the subject and body.",
        "tpl.none_admin": "No admin template yet.",
        "tpl.new": "New admin template",
        "tpl.locale": "Language",
        "tpl.format": "Format",
        "tpl.format.html": "E-mail (HTML)",
        "tpl.format.text": "E-mail (text)",
        "tpl.format.short": "SMS / WhatsApp",
        "tpl.format.inbox": "In-app (the bell)",
        "tpl.overridden": "from HERALD_TEMPLATES_DIR",
        "tpl.sample": "Rendered with sample data.",
        "tpl.back": "All templates",
        "tpl.edit": "Edit",
        "tpl.save": "Save",
        "tpl.saved": "Template {name} ({locale}) saved.",
        "tpl.created": "Template {name} ({locale}) created.",
        "tpl.refused": "Not saved: {reason}",
        "tpl.context": "Sample data (JSON object)",
        "tpl.context_help": "The variables the template uses, e.g. {example}.",
        "tpl.render": "Preview",
        "tpl.preview_failed": "This template does not render: {reason}",
        "tpl.missing": "No {locale} version yet: the fallback below is what would be sent.",
        "tpl.frame_title": "The e-mail as sent",
        # loans, repairs, follow-ups
        "obj.title": "Loans, repairs, follow-ups",
        "obj.lead": "What Temporal runs for each loan, repair and follow-up, found through its "
        "search attributes: the overdue ones, those to come, the next notice each will send. "
        "Times in {timezone}.",
        "obj.kind": "Kind",
        "obj.kind.loan": "Loans",
        "obj.kind.repair": "Repairs",
        "obj.kind.followup": "Follow-ups",
        "obj.one.loan": "Loan",
        "obj.one.repair": "Repair",
        "obj.one.followup": "Follow-up",
        "obj.state": "State",
        "obj.state_overdue": "Overdue now",
        "obj.state_upcoming": "Upcoming",
        "obj.state_all": "All",
        "obj.search": "Search by id",
        "obj.search_placeholder": "An id, or a person's id",
        "obj.search_submit": "Search",
        "obj.search_clear": "Clear",
        "obj.search_help": "The objects whose id starts with it, or whose borrower, customer or "
        "assignee it is.",
        "obj.refused": "Refused: {reason}",
        "obj.id": "Id",
        "obj.person.loan": "Borrower",
        "obj.person.repair": "Customer",
        "obj.person.followup": "Assigned to",
        "obj.technician": "Technician",
        "obj.state_col": "State",
        "obj.due": "Due",
        "obj.next": "Next notice",
        "obj.overdue.loan": "Overdue",
        "obj.overdue.repair": "No technician",
        "obj.overdue.followup": "Overdue",
        "obj.state.loan.ACTIVE": "Active",
        "obj.state.loan.OVERDUE": "Overdue",
        "obj.state.loan.RETURNED": "Returned",
        "obj.state.loan.CANCELLED": "Cancelled",
        "obj.state.repair.PENDING_APPROVAL": "Awaiting approval",
        "obj.state.repair.APPROVED": "Approved",
        "obj.state.repair.DENIED": "Denied",
        "obj.state.repair.IN_PROGRESS": "In progress",
        "obj.state.repair.COMPLETED": "Completed",
        "obj.state.repair.CLOSED": "Closed",
        "obj.state.followup.OPEN": "Open",
        "obj.state.followup.OVERDUE": "Overdue",
        "obj.state.followup.COMPLETED": "Completed",
        "obj.state.followup.CANCELLED": "Cancelled",
        "obj.run.running": "Running",
        "obj.run.completed": "Completed",
        "obj.run.failed": "Failed",
        "obj.run.canceled": "Canceled",
        "obj.run.terminated": "Terminated",
        "obj.run.timed_out": "Timed out",
        "obj.run.continued_as_new": "Continued as new",
        "obj.run.unknown": "No longer kept",
        "obj.role.borrower": "to the borrower",
        "obj.role.assignee": "to the assignee",
        "obj.role.manager": "to the managers",
        "obj.role.customer": "to the customer",
        "obj.role.technician": "to the technician",
        "obj.no_answer": "planned; which notice is unknown (no worker answered)",
        "obj.nothing_pending": "Nothing planned",
        "obj.send_now": "Send now",
        "obj.send_title": "Send {notice} for {id} now",
        "obj.send_help": "Sends this notice now, as a new delivery logged \u201csent by hand\u201d; "
        "the planned one still goes out at its time.",
        "obj.not_by_hand": "This notice keeps its own rhythm: it is not sent by hand.",
        "obj.temporal_ui": "Temporal UI",
        "obj.new_tab": "opens in a new tab",
        "obj.no_ui": "Set HERALD_TEMPORAL_UI_URL to link to the Temporal UI.",
        "obj.none_overdue": "Nothing is overdue.",
        "obj.none_upcoming": "Nothing is coming up.",
        "obj.none_all": "Nothing found.",
        "obj.pages": "Pages",
        "obj.first_page": "First page",
        "obj.next_page": "Next page",
        "obj.visibility_note": "Temporal's lists follow changes within moments, not at once; "
        "one object's page reads its workflow directly.",
        "obj.sent": "{notice} sent now for {id}.",
        "obj.notification": "Notification",
        "obj.channels": "Channels",
        "obj.no_channel": "no channel: nobody to reach",
        "obj.sent_help": "A new delivery, logged \u201csent by hand\u201d; the plan is unchanged.",
        "obj.send_refused": "Not sent for {id}: {reason}",
        "obj.not_found_title": "Not found",
        "obj.details": "Details",
        "obj.none_yet": "none yet",
        "obj.next_attribute": "Next reminder (search attribute)",
        "obj.workflow": "Workflow",
        "obj.workflow_id": "Workflow id",
        "obj.run_id": "Run id",
        "obj.started": "Started",
        "obj.closed": "Closed",
        "obj.times_in": "Times in {timezone}.",
        "time.in": "in {duration}",
        "time.ago": "{duration} ago",
        # schedules and health
        "health.title": "Schedules & health",
        "health.overall_ok": "All is well",
        "health.overall_warning": "Worth a look: {n}",
        "health.overall_problem": "To fix: {n}",
        "health.finding_check": "{name}: {detail}",
        "health.finding_no_schedules": "The schedules cannot be read: Temporal did not answer.",
        "health.finding_missing": "Schedule {id} does not exist: run herald setup.",
        "health.finding_paused": "Schedule {id} is paused.",
        "health.finding_run": "The last run of {id} ended: {status} ({workflow}).",
        "health.counts": "Checks — ok: {ok} · to fix: {problems} · notes: {notes}",
        "health.schedules": "Schedules",
        "health.schedules_unavailable": "The schedules cannot be read: {reason}",
        "health.schedule_missing": "Not created",
        "health.schedule_missing_help": "Not created yet: herald setup creates it (herald dev "
        "does too).",
        "health.paused": "Paused",
        "health.active": "Active",
        "health.note": "Note:",
        "health.workflow": "Workflow",
        "health.time_zone": "Time zone",
        "health.next_runs": "Next runs",
        "health.runs": "Runs",
        "health.runs_counts": "{total} started; {skipped} skipped because the previous run was "
        "still going; {missed} missed while Temporal was unavailable",
        "health.schedule_ui": "The schedule in the Temporal UI",
        "health.recent_runs": "Recent runs",
        "health.scheduled": "Planned for",
        "health.started": "Started",
        "health.outcome": "Outcome",
        "health.closed": "Ended",
        "health.workflow_run": "Run",
        "health.no_runs": "No run yet.",
        "health.checks": "Checks",
        "health.checks_lead": "The checks of herald doctor, problems first; each detail says "
        "what was found and, for a problem, how to fix it.",
        "health.status": "Status",
        "health.check": "Check",
        "health.detail": "Detail",
        "health.status_ok": "OK",
        "health.status_problem": "Problem",
        "health.status_note": "Note",
        "health.check.encryption": "Encryption",
        "health.check.codec-server": "Codec server",
        "health.check.temporal-ui": "Temporal UI",
        "health.check.temporal": "Temporal",
        "health.check.search-attributes": "Search attributes",
        "health.check.database": "Database",
        "health.check.provider": "Provider",
        "health.check.api": "HTTP API",
        "health.check.webhooks": "Webhooks",
        "health.metrics": "Metrics",
        "health.metrics_where": "Prometheus",
        "health.metrics_who": "Who may read it",
        "health.metrics_auth": "Not public: an ops API key, or Authorization: Bearer with "
        "HERALD_METRICS_TOKEN (which opens /metrics and nothing else). With no API key at all, "
        "the loopback only, like every route.",
        "health.metrics_token_set": "HERALD_METRICS_TOKEN is set.",
        "health.metrics_token_unset": "HERALD_METRICS_TOKEN is not set: ops keys only.",
        "health.metrics_what": "Figures",
        "health.metrics_figures": "herald_* read from the database over a sliding window of "
        "{window}, at most once every {cache}.",
        "health.worker_metrics": "Workers",
        "health.worker_metrics_open": "the Temporal SDK's metrics, without authentication",
        "health.worker_metrics_off": "HERALD_WORKER_METRICS_ADDRESS is not set: workers serve "
        "no metrics.",
        # shared
        "lang.en": "English",
        "lang.fr": "French",
        "channel.email": "E\u2011mail",
        "channel.sms": "SMS",
        "channel.whatsapp": "WhatsApp",
        "channel.in_app": "In-app",
        "status.pending": "Pending",
        "status.sent": "Sent",
        "status.failed": "Failing",
        "status.permanently_failed": "Failed for good",
        "status.skipped": "Skipped",
        "status.held": "Held",
        "status.digested": "In a digest",
        "status.suppressed": "Suppressed",
        "status.delivered": "Delivered",
        "status.read": "Read",
        "status.bounced": "Bounced",
        "status.complained": "Complained",
        "status.undelivered": "Undelivered",
        "unit.s": "{n} s",
        "unit.min": "{n} min",
        "unit.h": "{n} h",
        "unit.d": "{n} d",
        "group.loan": "Loans",
        "group.repair": "Repairs",
        "group.staff": "Staff alerts",
        "group.system": "System",
        "group.followup": "Follow-ups",
        "group.lead": "Leads",
        "group.user": "Accounts",
        "group.digest": "Digests",
        "dash.none": "–",
    },
    "fr": {
        "app.title": "Console d'exploitation",
        "lang.switch": "English",
        "lang.switch_label": "Read the console in English",
        "nav.label": "Rubriques de la console",
        "nav.dashboard": "Tableau de bord",
        "nav.failures": "Échecs",
        "nav.test_send": "Envoi de test",
        "nav.templates": "Modèles",
        "nav.subjects": "Prêts, réparations, relances",
        "nav.health": "Planifications et santé",
        "nav.signed_in_as": "Connecté : {who}",
        "nav.logout": "Se déconnecter",
        "nav.skip": "Aller au contenu",
        "login.title": "Connexion",
        "login.lead": "La console d'exploitation de Herald : envois, échecs, envois de test, "
        "modèles, prêts, réparations et relances, planifications et santé.",
        "login.secret": "Clé d'API ops ou mot de passe de la console",
        "login.secret_help": "Une clé d'API de portée ops (herald api-key create NOM --scope "
        "ops) ou le mot de passe défini dans HERALD_CONSOLE_PASSWORD.",
        "login.submit": "Se connecter",
        "login.refused": "Cette clé ou ce mot de passe n'a pas été accepté.",
        "login.app_key": "Cette clé d'API a la portée app : la console demande une clé ops.",
        "login.locked": "Trop d'échecs depuis cette adresse. Réessayez dans {minutes} min.",
        "login.nothing_configured": "Aucun moyen de connexion n'est encore configuré : créez "
        "une clé ops avec herald api-key create NOM --scope ops, ou définissez "
        "HERALD_CONSOLE_PASSWORD.",
        "login.expired": "Votre session a pris fin. Veuillez vous reconnecter.",
        "login.signed_out": "Vous êtes déconnecté.",
        "login.who_password": "mot de passe de la console",
        "login.who_key": "clé ops {name}",
        "error.csrf_title": "Ce formulaire ne peut pas être accepté",
        "error.csrf": "Il a expiré ou ne vient pas de cette console. Revenez en arrière, "
        "rechargez la page et réessayez.",
        "error.not_found_title": "Page introuvable",
        "error.not_found": "Il n'y a rien à cette adresse.",
        "error.back": "Retour au tableau de bord",
        "error.generic_title": "Un problème est survenu",
        "error.invalid": "Refusé : {reason}",
        "dash.title": "Tableau de bord",
        "dash.window": "Période",
        "dash.window.24h": "Dernières 24 heures",
        "dash.window.7d": "7 derniers jours",
        "dash.deliveries": "Envois",
        "dash.deliveries_other": "{count} sur les 7 derniers jours",
        "dash.deliveries_other_24h": "{count} sur les dernières 24 heures",
        "dash.failure_rate": "Taux d'échec",
        "dash.failure_detail": "{failed} échecs sur {settled} envois aboutis",
        "dash.no_settled": "aucun envoi abouti pour l'instant",
        "dash.sms": "SMS",
        "dash.sms_detail": "{messages} messages, {segments} segments",
        "dash.sms_cost": "coût estimé",
        "dash.lateness": "Retard",
        "dash.lateness_median": "médiane",
        "dash.lateness_p99": "p99",
        "dash.lateness_detail": "envoi moins heure prévue, {count} messages",
        "dash.stuck": "Bloqués",
        "dash.stuck_detail": "en attente ou en échec depuis plus de {duration}",
        "dash.stuck_link": "Voir les échecs",
        "dash.per_day": "Envois par jour",
        "dash.per_day_caption": "Envois par jour et par canal, 7 derniers jours ({timezone})",
        "dash.day": "Jour",
        "dash.total": "Total",
        "dash.by_channel": "Par canal et par état",
        "dash.channel": "Canal",
        "dash.busiest": "Types les plus envoyés",
        "dash.kind": "Type",
        "dash.count": "Messages",
        "dash.share": "Part",
        "dash.empty": "Aucun envoi sur cette période.",
        "dash.generated": "Chiffres du {when}.",
        "fail.title": "Échecs",
        "fail.lead": "Les envois en échec définitif, et ceux qui sont bloqués : en attente ou "
        "en échec depuis plus de {duration} après leur planification.",
        "fail.failed": "Échec définitif",
        "fail.stuck": "Bloqués",
        "fail.none_failed": "Aucun envoi en échec définitif.",
        "fail.none_stuck": "Rien n'est bloqué.",
        "fail.id": "N°",
        "fail.when": "Prévu",
        "fail.kind": "Type",
        "fail.subject": "Objet",
        "fail.channel": "Canal",
        "fail.recipient": "Destinataire",
        "fail.provider": "Fournisseur",
        "fail.reason": "Motif",
        "fail.status": "État",
        "fail.attempts": "Tentatives",
        "fail.action": "Action",
        "fail.resend": "Renvoyer",
        "fail.resent_as": "Renvoyé : n° {id} ({status})",
        "fail.resent": "Envoi n° {original} renvoyé comme envoi n° {id} : une nouvelle "
        "tentative, journalisée comme son renvoi.",
        "fail.resend_refused": "L'envoi n° {id} n'a pas été renvoyé : {reason}",
        "test.title": "Envoi de test",
        "test.lead": "Envoyez un court message de test par les fournisseurs configurés d'un "
        "canal, avec la même bascule que le worker, et voyez quel fournisseur a répondu.",
        "test.channel": "Canal",
        "test.address": "Adresse",
        "test.address_help": "Une adresse e-mail, ou un numéro de téléphone pour les SMS et "
        "WhatsApp.",
        "test.submit": "Envoyer le test",
        "test.chain": "Fournisseurs, dans l'ordre de bascule",
        "test.off": "désactivé",
        "test.sent": "Envoyé par {provider}.",
        "test.message_id": "Identifiant du message chez le fournisseur",
        "test.to": "À",
        "test.failed": "Non envoyé : {reason}",
        "test.refused": "Refusé : {reason}",
        "tpl.title": "Modèles",
        "tpl.lead": "Chaque notification telle qu'elle serait envoyée, avec des données "
        "d'exemple, dans les deux langues et tous les formats ; les modèles d'administration "
        "des alertes internes, vérifiés avant d'être enregistrés.",
        "tpl.builtin": "Types intégrés",
        "tpl.admin": "Modèles d'administration",
        "tpl.kind": "Type",
        "tpl.description": "Ce que c'est",
        "tpl.preview": "Aperçu",
        "tpl.name": "Nom",
        "tpl.locales": "Langues",
        "tpl.subject": "Objet",
        "tpl.body": "Corps",
        "tpl.short": "Texte court (SMS, WhatsApp)",
        "tpl.short_help": "Facultatif : sans lui, SMS et WhatsApp reçoivent l'objet et le corps.",
        "tpl.none_admin": "Aucun modèle d'administration pour l'instant.",
        "tpl.new": "Nouveau modèle d'administration",
        "tpl.locale": "Langue",
        "tpl.format": "Format",
        "tpl.format.html": "E-mail (HTML)",
        "tpl.format.text": "E-mail (texte)",
        "tpl.format.short": "SMS / WhatsApp",
        "tpl.format.inbox": "Dans l'application (la cloche)",
        "tpl.overridden": "depuis HERALD_TEMPLATES_DIR",
        "tpl.sample": "Rendu avec des données d'exemple.",
        "tpl.back": "Tous les modèles",
        "tpl.edit": "Modifier",
        "tpl.save": "Enregistrer",
        "tpl.saved": "Modèle {name} ({locale}) enregistré.",
        "tpl.created": "Modèle {name} ({locale}) créé.",
        "tpl.refused": "Non enregistré : {reason}",
        "tpl.context": "Données d'exemple (objet JSON)",
        "tpl.context_help": "Les variables qu'utilise le modèle, par exemple {example}.",
        "tpl.render": "Aperçu",
        "tpl.preview_failed": "Ce modèle ne se rend pas : {reason}",
        "tpl.missing": "Pas encore de version {locale} : voici la notification de secours "
        "qui serait envoyée.",
        "tpl.frame_title": "L'e-mail tel qu'envoyé",
        "obj.title": "Prêts, réparations, relances",
        "obj.lead": "Ce que Temporal exécute pour chaque prêt, réparation et relance, retrouvé "
        "par ses attributs de recherche : ceux en retard, ceux à venir, le prochain avis de "
        "chacun. Heures en {timezone}.",
        "obj.kind": "Type",
        "obj.kind.loan": "Prêts",
        "obj.kind.repair": "Réparations",
        "obj.kind.followup": "Relances",
        "obj.one.loan": "Prêt",
        "obj.one.repair": "Réparation",
        "obj.one.followup": "Relance",
        "obj.state": "État",
        "obj.state_overdue": "En retard",
        "obj.state_upcoming": "À venir",
        "obj.state_all": "Tous",
        "obj.search": "Chercher par identifiant",
        "obj.search_placeholder": "Un identifiant, ou celui d'une personne",
        "obj.search_submit": "Chercher",
        "obj.search_clear": "Effacer",
        "obj.search_help": "Ceux dont l'identifiant commence ainsi, ou dont c'est l'emprunteur, "
        "le client ou la personne assignée.",
        "obj.refused": "Refusé : {reason}",
        "obj.id": "Identifiant",
        "obj.person.loan": "Emprunteur",
        "obj.person.repair": "Client",
        "obj.person.followup": "Assignée à",
        "obj.technician": "Technicien",
        "obj.state_col": "État",
        "obj.due": "Échéance",
        "obj.next": "Prochain avis",
        "obj.overdue.loan": "En retard",
        "obj.overdue.repair": "Sans technicien",
        "obj.overdue.followup": "En retard",
        "obj.state.loan.ACTIVE": "En cours",
        "obj.state.loan.OVERDUE": "En retard",
        "obj.state.loan.RETURNED": "Rendu",
        "obj.state.loan.CANCELLED": "Annulé",
        "obj.state.repair.PENDING_APPROVAL": "En attente d'approbation",
        "obj.state.repair.APPROVED": "Approuvée",
        "obj.state.repair.DENIED": "Refusée",
        "obj.state.repair.IN_PROGRESS": "En cours",
        "obj.state.repair.COMPLETED": "Terminée",
        "obj.state.repair.CLOSED": "Clôturée",
        "obj.state.followup.OPEN": "Ouverte",
        "obj.state.followup.OVERDUE": "En retard",
        "obj.state.followup.COMPLETED": "Terminée",
        "obj.state.followup.CANCELLED": "Annulée",
        "obj.run.running": "En cours",
        "obj.run.completed": "Terminé",
        "obj.run.failed": "En échec",
        "obj.run.canceled": "Annulé",
        "obj.run.terminated": "Arrêté",
        "obj.run.timed_out": "Délai dépassé",
        "obj.run.continued_as_new": "Poursuivi dans une nouvelle exécution",
        "obj.run.unknown": "Plus conservé",
        "obj.role.borrower": "à l'emprunteur",
        "obj.role.assignee": "à la personne assignée",
        "obj.role.manager": "aux responsables",
        "obj.role.customer": "au client",
        "obj.role.technician": "au technicien",
        "obj.no_answer": "prévu ; avis inconnu (aucun worker n'a répondu)",
        "obj.nothing_pending": "Rien de prévu",
        "obj.send_now": "Envoyer maintenant",
        "obj.send_title": "Envoyer {notice} pour {id} maintenant",
        "obj.send_help": "Envoie cet avis maintenant, comme un nouvel envoi journalisé « envoyé "
        "à la main » ; l'avis prévu part quand même à son heure.",
        "obj.not_by_hand": "Cet avis garde son propre rythme : il ne s'envoie pas à la main.",
        "obj.temporal_ui": "Interface Temporal",
        "obj.new_tab": "s'ouvre dans un nouvel onglet",
        "obj.no_ui": "Définissez HERALD_TEMPORAL_UI_URL pour un lien vers l'interface Temporal.",
        "obj.none_overdue": "Rien n'est en retard.",
        "obj.none_upcoming": "Rien à venir.",
        "obj.none_all": "Rien trouvé.",
        "obj.pages": "Pages",
        "obj.first_page": "Première page",
        "obj.next_page": "Page suivante",
        "obj.visibility_note": "Les listes de Temporal suivent les changements en quelques "
        "instants, pas aussitôt ; la page d'un objet lit directement son workflow.",
        "obj.sent": "{notice} envoyé maintenant pour {id}.",
        "obj.notification": "Notification",
        "obj.channels": "Canaux",
        "obj.no_channel": "aucun canal : personne à joindre",
        "obj.sent_help": "Un nouvel envoi, journalisé « envoyé à la main » ; le plan ne change "
        "pas.",
        "obj.send_refused": "Non envoyé pour {id} : {reason}",
        "obj.not_found_title": "Introuvable",
        "obj.details": "Détails",
        "obj.none_yet": "aucun pour l'instant",
        "obj.next_attribute": "Prochain rappel (attribut de recherche)",
        "obj.workflow": "Workflow",
        "obj.workflow_id": "Identifiant du workflow",
        "obj.run_id": "Identifiant de l'exécution",
        "obj.started": "Démarré",
        "obj.closed": "Terminé",
        "obj.times_in": "Heures en {timezone}.",
        "time.in": "dans {duration}",
        "time.ago": "il y a {duration}",
        "health.title": "Planifications et santé",
        "health.overall_ok": "Tout va bien",
        "health.overall_warning": "À surveiller : {n}",
        "health.overall_problem": "À corriger : {n}",
        "health.finding_check": "{name} : {detail}",
        "health.finding_no_schedules": "Les planifications ne peuvent être lues : Temporal n'a "
        "pas répondu.",
        "health.finding_missing": "La planification {id} n'existe pas : lancez herald setup.",
        "health.finding_paused": "La planification {id} est en pause.",
        "health.finding_run": "La dernière exécution de {id} s'est terminée : {status} "
        "({workflow}).",
        "health.counts": "Vérifications — correctes : {ok} · à corriger : {problems} "
        "· remarques : {notes}",
        "health.schedules": "Planifications",
        "health.schedules_unavailable": "Les planifications ne peuvent être lues : {reason}",
        "health.schedule_missing": "Non créée",
        "health.schedule_missing_help": "Pas encore créée : herald setup la crée (herald dev "
        "aussi).",
        "health.paused": "En pause",
        "health.active": "Active",
        "health.note": "Note :",
        "health.workflow": "Workflow",
        "health.time_zone": "Fuseau horaire",
        "health.next_runs": "Prochaines exécutions",
        "health.runs": "Exécutions",
        "health.runs_counts": "{total} lancées ; {skipped} sautées car la précédente était "
        "encore en cours ; {missed} manquées pendant une indisponibilité de Temporal",
        "health.schedule_ui": "La planification dans l'interface Temporal",
        "health.recent_runs": "Exécutions récentes",
        "health.scheduled": "Prévue pour",
        "health.started": "Lancée",
        "health.outcome": "Issue",
        "health.closed": "Terminée",
        "health.workflow_run": "Exécution",
        "health.no_runs": "Aucune exécution pour l'instant.",
        "health.checks": "Vérifications",
        "health.checks_lead": "Les vérifications de herald doctor, problèmes d'abord ; chaque "
        "détail dit ce qui a été trouvé et, pour un problème, comment le corriger (en anglais, "
        "tel que herald doctor l'écrit).",
        "health.status": "État",
        "health.check": "Vérification",
        "health.detail": "Détail",
        "health.status_ok": "Correct",
        "health.status_problem": "Problème",
        "health.status_note": "Remarque",
        "health.check.encryption": "Chiffrement",
        "health.check.codec-server": "Serveur de codec",
        "health.check.temporal-ui": "Interface Temporal",
        "health.check.temporal": "Temporal",
        "health.check.search-attributes": "Attributs de recherche",
        "health.check.database": "Base de données",
        "health.check.provider": "Fournisseur",
        "health.check.api": "API HTTP",
        "health.check.webhooks": "Webhooks",
        "health.metrics": "Métriques",
        "health.metrics_where": "Prometheus",
        "health.metrics_who": "Qui peut les lire",
        "health.metrics_auth": "Pas publiques : une clé d'API ops, ou Authorization: Bearer "
        "avec HERALD_METRICS_TOKEN (qui n'ouvre que /metrics). Sans aucune clé d'API, la boucle "
        "locale seulement, comme toute route.",
        "health.metrics_token_set": "HERALD_METRICS_TOKEN est défini.",
        "health.metrics_token_unset": "HERALD_METRICS_TOKEN n'est pas défini : clés ops seulement.",
        "health.metrics_what": "Chiffres",
        "health.metrics_figures": "herald_* lus dans la base sur une fenêtre glissante de "
        "{window}, au plus une fois toutes les {cache}.",
        "health.worker_metrics": "Workers",
        "health.worker_metrics_open": "les métriques du SDK Temporal, sans authentification",
        "health.worker_metrics_off": "HERALD_WORKER_METRICS_ADDRESS n'est pas défini : les "
        "workers ne servent pas de métriques.",
        "lang.en": "anglais",
        "lang.fr": "français",
        "channel.email": "E\u2011mail",
        "channel.sms": "SMS",
        "channel.whatsapp": "WhatsApp",
        "channel.in_app": "Dans l'appli",
        "status.pending": "En attente",
        "status.sent": "Envoyé",
        "status.failed": "En échec",
        "status.permanently_failed": "Échec définitif",
        "status.skipped": "Ignoré",
        "status.held": "Retenu",
        "status.digested": "Dans un résumé",
        "status.suppressed": "Supprimé",
        "status.delivered": "Distribué",
        "status.read": "Lu",
        "status.bounced": "Rejeté",
        "status.complained": "Signalé",
        "status.undelivered": "Non distribué",
        "unit.s": "{n} s",
        "unit.min": "{n} min",
        "unit.h": "{n} h",
        "unit.d": "{n} j",
        "group.loan": "Prêts",
        "group.repair": "Réparations",
        "group.staff": "Alertes internes",
        "group.system": "Système",
        "group.followup": "Relances",
        "group.lead": "Prospects",
        "group.user": "Comptes",
        "group.digest": "Résumés",
        "dash.none": "–",
    },
}

# What each built-in kind is, in French (English: herald.kinds' own descriptions).
KIND_DESCRIPTIONS_FR = {
    "loan.created": "confirmation à la création du prêt",
    "loan.reminder_2h": "deux heures avant l'échéance",
    "loan.reminder_j2": "8 h locales, deux jours avant",
    "loan.reminder_j1": "8 h locales, la veille",
    "loan.due_today": "8 h locales, le jour de l'échéance",
    "loan.overdue": "après l'échéance, répété",
    "loan.returned": "remerciement au retour du matériel",
    "repair.created": "demande reçue, en attente d'approbation",
    "repair.approved": "réparation approuvée",
    "repair.denied": "réparation refusée",
    "repair.assigned": "réparation confiée à un technicien",
    "repair.reassigned_away": "réparation confiée à un autre technicien",
    "repair.in_progress": "travaux commencés",
    "repair.completed": "réparation terminée",
    "repair.batch_approved": "un lot de réparations approuvé",
    "repair.batch_denied": "un lot de réparations refusé",
    "repair.batch": "les avis de plusieurs réparations en un seul, listés",
    "repair.reward_redeemed": "la récompense d'un technicien utilisée",
    "repair.unassigned": "réparation approuvée toujours sans technicien",
    "staff.notice": "alerte interne depuis un modèle d'administration",
    "system.delivery_failed": "un envoi en échec définitif",
    "system.window_closing": "la fenêtre WhatsApp d'un membre de l'équipe se ferme bientôt",
    "system.sms_budget": "le budget SMS du mois presque ou entièrement dépensé",
    "system.housekeeping_failed": "le nettoyage quotidien en échec définitif",
    "followup.due_tomorrow": "8 h locales, la veille",
    "followup.overdue": "après l'échéance, responsables en copie",
    "crm.daily_summary": "le résumé quotidien d'un commercial, à l'heure qu'il a choisie",
    "lead.created": "un nouveau prospect",
    "lead.stage_changed": "un prospect gagné, perdu ou facturé",
    "lead.assigned": "un prospect qui vous est confié",
    "lead.reassigned_away": "un prospect confié à quelqu'un d'autre",
    "lead.fulfilment_changed": "l'état de réalisation d'un prospect",
    "user.welcome": "bienvenue sur un nouveau compte",
    "user.role_changed": "votre rôle a changé",
    "user.activated": "votre compte est actif",
    "user.deactivated": "votre compte est désactivé",
    "digest.daily": "les avis du jour en un seul message",
    "digest.weekly": "les avis de la semaine en un seul message",
}

_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
}
_DAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
}
# French groups thousands with a narrow no-break space and writes decimals with a comma.
_THIN = "\u202f"


def negotiate(accept_language: str | None) -> str:
    """The console's language for an ``Accept-Language`` header: the first of English or
    French the browser prefers (by q-value), else English."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().split("-")[0].lower()
        if lang not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        candidate = (-q, position, lang)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


class Texts:
    """One language's strings and formats, handed to every page as ``t`` and its helpers."""

    def __init__(self, lang: str, timezone: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self.timezone = timezone
        self.messages = MESSAGES[self.lang]

    def __call__(self, key: str, **values: Any) -> str:
        text = self.messages[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.messages

    def label(self, prefix: str, value: str) -> str:
        """A status's or channel's name (``status.sent`` → Sent), the raw value if unknown."""
        return self.messages.get(f"{prefix}.{value}", value)

    def kind(self, name: str) -> str:
        """What a built-in kind is, in this language."""
        from herald.kinds import KINDS

        if self.lang == "fr" and name in KIND_DESCRIPTIONS_FR:
            return KIND_DESCRIPTIONS_FR[name]
        found = KINDS.get(name)
        return found.description if found else name

    def number(self, value: float, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        if self.lang == "fr":
            text = text.replace(",", _THIN).replace(".", ",")
        return text

    def percent(self, share: float | None) -> str:
        if share is None:
            return self("dash.none")
        text = self.number(share * 100, 1)
        return f"{text}{_THIN}%" if self.lang == "fr" else f"{text}%"

    def money(self, amount: float, currency: str) -> str:
        return f"{self.number(amount, 2)}{_THIN if self.lang == 'fr' else ' '}{currency}"

    def duration(self, seconds: float | None) -> str:
        """A lateness or a delay, in the unit that reads best (s, min, h, d)."""
        if seconds is None:
            return self("dash.none")
        size = abs(seconds)
        if size < 120:
            return self("unit.s", n=self.number(seconds, 1 if size < 10 else 0))
        if size < 3600:
            return self("unit.min", n=self.number(seconds / 60, 0))
        if size < 172800:
            return self("unit.h", n=self._short(seconds / 3600))
        return self("unit.d", n=self._short(seconds / 86400))

    def _short(self, value: float) -> str:
        """One decimal, none when it is 0 (``1 h``, ``1.5 h``)."""
        return self.number(value, 0 if round(value, 1) == round(value) else 1)

    def when(self, value: str | datetime | None) -> str:
        """An instant in the organisation's zone: ``4 Dec 10:05`` / ``4 déc. 10:05``."""
        if value is None:
            return self("dash.none")
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = instant.astimezone(ZoneInfo(self.timezone))
        return f"{local.day} {_MONTHS[self.lang][local.month - 1]} {local:%H:%M}"

    def relative(self, value: str | datetime, now: datetime) -> str:
        """How far ``value`` is from ``now``: ``in 3 d`` / ``2 h ago`` (``dans 3 j`` /
        ``il y a 2 h``)."""
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        seconds = (instant - now).total_seconds()
        if seconds >= 0:
            return self("time.in", duration=self.duration(seconds))
        return self("time.ago", duration=self.duration(-seconds))

    def day(self, iso_date: str) -> str:
        """A chart's day: ``Mon 4`` / ``lun. 4``."""
        d = datetime.fromisoformat(iso_date)
        return f"{_DAYS[self.lang][d.weekday()]} {d.day}"
