// Merchant dashboard: a secret-key client of the public GraphQL API. The key lives in this
// tab's sessionStorage only; live changes come from the `events` subscription.
import {
  graphql,
  newIdempotencyKey,
  formatMoney,
  statusBadge,
  GraphQLRequestError,
  SubscriptionClient,
} from "./graphql.js";

const STORAGE_KEY = "nexus.demo.secretKey";
// Rows per page: one screen on a laptop, and a couple of "Load more" taps on a phone.
const PAGE_SIZE = 10;
// An intent's events shown in its detail panel: every transition of one payment fits easily.
const DETAIL_EVENTS = 50;
const CANCELABLE = new Set(["CREATED", "FAILED", "REQUIRES_ACTION", "REQUIRES_CAPTURE"]);

const ROW_FIELDS = "id amount currency status amountRefunded createdAt description";
const ME = "query { me { id name email } }";
const LIST = `query($first: Int!, $after: String, $status: [PaymentIntentStatus!]) {
  paymentIntents(first: $first, after: $after, status: $status) {
    edges { cursor node { ${ROW_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const ROW = `query($id: ID!) { paymentIntent(id: $id) { ${ROW_FIELDS} } }`;
const DETAIL = `query($id: ID!, $events: Int!) { paymentIntent(id: $id) {
  id amount currency status captureMethod amountCapturable amountReceived amountRefunded description version createdAt
  lastPaymentError { code declineCode message }
  attempts { id cardBrand cardLast4 outcome declineCode riskScore riskLevel riskReasons networkStatus createdAt }
  refunds { id amount reason status createdAt }
  events(first: $events) { edges { node { id type createdAt
    deliveries { id status nextAttemptAt endpoint { id url } attempts { at statusCode latencyMs error } } } } } } }`;
const ENDPOINTS = "query { webhookEndpoints { id url enabledEvents disabled createdAt } }";
const INTENT_PAYLOAD = "paymentIntent { id status } userErrors { code field message }";
const CAPTURE = `mutation($input: CapturePaymentIntentInput!, $key: String!) {
  capturePaymentIntent(input: $input, idempotencyKey: $key) { ${INTENT_PAYLOAD} } }`;
const CANCEL = `mutation($input: CancelPaymentIntentInput!, $key: String) {
  cancelPaymentIntent(input: $input, idempotencyKey: $key) { ${INTENT_PAYLOAD} } }`;
const REFUND = `mutation($input: RefundPaymentIntentInput!, $key: String!) {
  refundPaymentIntent(input: $input, idempotencyKey: $key) {
    refund { id amount currency status } paymentIntent { id status } userErrors { code field message } } }`;
const SIGNUP = `mutation($input: SignupMerchantInput!, $key: String) {
  signupMerchant(input: $input, idempotencyKey: $key) {
    merchant { id name } secretKey publishableKey userErrors { code field message } } }`;
const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!, $key: String) {
  createWebhookEndpoint(input: $input, idempotencyKey: $key) {
    webhookEndpoint { id url } secret userErrors { code field message } } }`;
const ROTATE = `mutation($input: RotateWebhookSecretInput!) {
  rotateWebhookSecret(input: $input) { webhookEndpoint { id url } secret userErrors { code field message } } }`;
const RESEND = `mutation($input: ResendEventInput!) {
  resendEvent(input: $input) { delivery { id status } userErrors { code field message } } }`;
const EVENTS = "subscription { events { id type createdAt data } }";

const $ = (id) => document.getElementById(id);
const state = { key: null, live: null, after: null, selected: null, endpoints: [], busy: false, detail: null };

// ---- small DOM builders (textContent only: merchant data is never parsed as HTML) ----

function cell(row, content, className) {
  const td = row.insertCell();
  if (className) td.className = className;
  if (content instanceof Node) td.append(content);
  else td.textContent = content == null ? "—" : String(content);
  return td;
}

function button(text, onClick, attrs = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "small";
  b.textContent = text;
  for (const [name, value] of Object.entries(attrs)) b.setAttribute(name, value);
  b.addEventListener("click", onClick);
  return b;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function errorText(error) {
  return error instanceof GraphQLRequestError ? `${error.message} (${error.code})` : String(error.message || error);
}

function userErrorText(errors) {
  return errors.map((e) => `${e.message} (${e.code})`).join("; ");
}

// ---- the key ----

async function useKey(key) {
  $("key-error").textContent = "";
  if (!key.startsWith("sk_")) {
    $("key-error").textContent = "Use a secret key (sk_test_…): the dashboard acts for the whole merchant.";
    $("secret-key").setAttribute("aria-invalid", "true");
    $("secret-key").focus();
    return;
  }
  let me;
  try {
    me = (await graphql(ME, {}, key)).me;
  } catch (error) {
    $("key-error").textContent = errorText(error);
    $("secret-key").setAttribute("aria-invalid", "true");
    return;
  }
  $("secret-key").removeAttribute("aria-invalid");
  sessionStorage.setItem(STORAGE_KEY, key);
  state.key = key;
  $("secret-key").value = "";
  $("merchant").textContent = `Signed in as ${me.name} (${me.id}).`;
  startLive();
  await Promise.all([reloadIntents(), loadEndpoints()]);
}

function forgetKey() {
  sessionStorage.removeItem(STORAGE_KEY);
  state.key = null;
  if (state.live) state.live.close();
  state.live = null;
  $("merchant").textContent = "Key forgotten.";
  $("signup-keys").hidden = true;
  document.querySelector("#intents tbody").replaceChildren();
  document.querySelector("#endpoints tbody").replaceChildren();
  showDetail(null);
  setLive("closed");
}

async function signup() {
  const suffix = newIdempotencyKey().slice(0, 8);
  try {
    const data = await graphql(SIGNUP, {
      input: { name: `Demo merchant ${suffix}`, email: `demo-${suffix}@shop.test` },
      key: newIdempotencyKey(),
    });
    const payload = data.signupMerchant;
    if (payload.userErrors.length) {
      $("key-error").textContent = userErrorText(payload.userErrors);
      return;
    }
    $("signup-secret").textContent = payload.secretKey;
    $("signup-publishable").textContent = payload.publishableKey;
    $("signup-keys").hidden = false;
    await useKey(payload.secretKey);
  } catch (error) {
    $("key-error").textContent = errorText(error);
  }
}

// ---- payment intents table ----

function statusFilter() {
  const value = $("status-filter").value;
  return value ? [value] : null;
}

function rowFor(id) {
  return document.querySelector(`#intents tbody tr[data-id="${CSS.escape(id)}"]`);
}

function buildRow(intent) {
  const row = document.createElement("tr");
  row.dataset.id = intent.id;
  row.dataset.status = intent.status;
  const pick = button(intent.id, () => selectIntent(intent.id, true), { "aria-label": `Details of ${intent.id}` });
  pick.classList.add("mono");
  if (state.selected === intent.id) {
    pick.setAttribute("aria-current", "true");
    row.setAttribute("data-selected", "");
  }
  cell(row, pick);
  cell(row, formatMoney(intent.amount, intent.currency));
  cell(row, statusBadge(intent.status));
  cell(row, intent.amountRefunded ? formatMoney(intent.amountRefunded, intent.currency) : "—");
  cell(row, when(intent.createdAt));
  return row;
}

function upsertRow(intent, prepend) {
  const existing = rowFor(intent.id);
  const fresh = buildRow(intent);
  const body = document.querySelector("#intents tbody");
  if (existing) existing.replaceWith(fresh);
  else if (prepend) body.prepend(fresh);
  else body.append(fresh);
  $("intents-empty").hidden = body.rows.length > 0;
}

async function loadPage() {
  $("intents-error").textContent = "";
  try {
    const data = await graphql(LIST, { first: PAGE_SIZE, after: state.after, status: statusFilter() }, state.key);
    const connection = data.paymentIntents;
    for (const edge of connection.edges) upsertRow(edge.node, false);
    state.after = connection.pageInfo.endCursor;
    $("load-more").hidden = !connection.pageInfo.hasNextPage;
    $("intents-empty").hidden = document.querySelector("#intents tbody").rows.length > 0;
  } catch (error) {
    $("intents-error").textContent = errorText(error);
  }
}

async function reloadIntents() {
  state.after = null;
  document.querySelector("#intents tbody").replaceChildren();
  await loadPage();
}

/** A live event touched this intent: redraw its row (new ones go on top when they match the filter). */
async function refreshIntent(id) {
  const data = await graphql(ROW, { id }, state.key);
  const intent = data.paymentIntent;
  if (!intent) return;
  const filter = statusFilter();
  if (rowFor(id) || !filter || filter.includes(intent.status)) upsertRow(intent, true);
  if (state.selected === id) await loadDetail(id);
}

// ---- live updates ----

function setLive(name) {
  const words = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", refused: "live updates refused", closed: "not connected" };
  $("live-indicator").dataset.state = name;
  $("live-indicator").textContent = words[name] || name;
}

function intentIdOf(event) {
  const object = (event.data && event.data.object) || {};
  return object.object === "payment_intent" ? object.id : object.payment_intent || null;
}

function startLive() {
  if (state.live) state.live.close();
  const client = new SubscriptionClient(state.key, { onState: setLive });
  state.live = client;
  client.subscribe(EVENTS, {}, {
    next: (data) => {
      const event = data.events;
      const id = intentIdOf(event);
      $("last-event").textContent = `Latest event: ${event.type}${id ? ` on ${id}` : ""}`;
      if (id) refreshIntent(id).catch((error) => ($("intents-error").textContent = errorText(error)));
    },
    error: (error) => {
      setLive("refused");
      $("live-indicator").title = error.message;
    },
    // Events may have been missed while offline: reload what is on screen.
    restarted: () => {
      reloadIntents();
      if (state.selected) loadDetail(state.selected);
    },
  });
}

// ---- detail panel ----

function showDetail(intent) {
  state.detail = intent;
  $("detail-empty").hidden = Boolean(intent);
  $("detail-body").hidden = !intent;
  $("detail-heading").textContent = intent ? `Details of ${intent.id}` : "Details";
  if (!intent) state.selected = null;
}

function fact(list, term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value == null || value === "" ? "—" : String(value);
  list.append(dt, dd);
}

function renderFacts(pi) {
  const list = $("detail-facts");
  list.replaceChildren();
  const money = (amount) => formatMoney(amount, pi.currency);
  fact(list, "Status", statusBadge(pi.status));
  fact(list, "Amount", money(pi.amount));
  fact(list, "Capturable", money(pi.amountCapturable));
  fact(list, "Received", money(pi.amountReceived));
  fact(list, "Refunded", money(pi.amountRefunded));
  fact(list, "Capture", pi.captureMethod);
  fact(list, "Description", pi.description);
  fact(list, "Version", pi.version);
  fact(list, "Created", when(pi.createdAt));
  const error = pi.lastPaymentError;
  $("detail-decline").textContent = error ? `${error.message} (${error.declineCode || error.code})` : "";
}

function renderActions(pi) {
  const disabled = state.busy;
  $("capture").disabled = disabled || pi.status !== "REQUIRES_CAPTURE";
  $("cancel").disabled = disabled || !CANCELABLE.has(pi.status);
  $("refund").disabled = disabled || pi.status !== "SUCCEEDED" || pi.amountRefunded >= pi.amountReceived;
}

function renderAttempts(pi) {
  const body = document.querySelector("#attempts tbody");
  body.replaceChildren();
  for (const a of pi.attempts) {
    const row = body.insertRow();
    cell(row, `${a.cardBrand} •••• ${a.cardLast4}`);
    cell(row, a.outcome);
    cell(row, a.declineCode);
    const reasons = a.riskReasons.length ? ` — ${a.riskReasons.join(", ")}` : "";
    cell(row, `${a.riskScore} ${a.riskLevel}${reasons}`);
    cell(row, a.networkStatus);
    cell(row, when(a.createdAt));
  }
  if (!pi.attempts.length) cell(body.insertRow(), "No attempts yet.").colSpan = 6;
}

function renderRefunds(pi) {
  const body = document.querySelector("#refunds tbody");
  body.replaceChildren();
  for (const r of pi.refunds) {
    const row = body.insertRow();
    row.dataset.id = r.id;
    cell(row, r.id, "mono");
    cell(row, formatMoney(r.amount, pi.currency));
    cell(row, r.status);
    cell(row, r.reason);
    cell(row, when(r.createdAt));
  }
  if (!pi.refunds.length) cell(body.insertRow(), "No refunds.").colSpan = 5;
}

function renderDelivery(delivery) {
  const item = document.createElement("li");
  item.dataset.status = delivery.status;
  const attempts = delivery.attempts
    .map((a) => `${when(a.at)}: ${a.statusCode ?? a.error ?? "no answer"}${a.latencyMs != null ? ` in ${a.latencyMs} ms` : ""}`)
    .join("; ");
  const next = delivery.nextAttemptAt ? `, next try ${when(delivery.nextAttemptAt)}` : "";
  item.textContent = `→ ${delivery.endpoint.url}: ${delivery.status}${next}. Attempts: ${attempts || "none yet"}`;
  return item;
}

function resendControls(event) {
  const wrap = document.createElement("div");
  wrap.className = "actions";
  if (!state.endpoints.length) return wrap;
  const select = document.createElement("select");
  select.setAttribute("aria-label", `Endpoint to resend ${event.id} to`);
  for (const endpoint of state.endpoints) select.add(new Option(endpoint.url, endpoint.id));
  select.style.width = "auto";
  wrap.append(select, button("Resend", () => resend(event.id, select.value), { "aria-label": `Resend ${event.id}` }));
  return wrap;
}

function renderEvents(pi) {
  const list = $("intent-events");
  list.replaceChildren();
  for (const { node: event } of pi.events.edges) {
    const item = document.createElement("li");
    item.dataset.id = event.id;
    const title = document.createElement("div");
    const type = Object.assign(document.createElement("strong"), { textContent: event.type });
    const eventId = Object.assign(document.createElement("code"), { textContent: event.id });
    const at = Object.assign(document.createElement("span"), { className: "hint", textContent: when(event.createdAt) });
    title.append(type, " ", eventId, " ", at);
    const deliveries = document.createElement("ul");
    for (const delivery of event.deliveries) deliveries.append(renderDelivery(delivery));
    if (!event.deliveries.length) deliveries.append(Object.assign(document.createElement("li"), { textContent: "No webhook deliveries." }));
    item.append(title, deliveries, resendControls(event));
    list.append(item);
  }
}

async function loadDetail(id) {
  try {
    const data = await graphql(DETAIL, { id, events: DETAIL_EVENTS }, state.key);
    const pi = data.paymentIntent;
    if (state.selected !== id) return;
    if (!pi) {
      showDetail(null);
      return;
    }
    showDetail(pi);
    renderFacts(pi);
    renderActions(pi);
    renderAttempts(pi);
    renderRefunds(pi);
    renderEvents(pi);
  } catch (error) {
    $("action-error").textContent = errorText(error);
  }
}

async function selectIntent(id, moveFocus) {
  state.selected = id;
  for (const row of document.querySelectorAll("#intents tbody tr")) {
    const chosen = row.dataset.id === id;
    row.toggleAttribute("data-selected", chosen);
    const pick = row.querySelector("button");
    if (chosen) pick.setAttribute("aria-current", "true");
    else pick.removeAttribute("aria-current");
  }
  $("action-result").textContent = "";
  $("action-error").textContent = "";
  await loadDetail(id);
  if (moveFocus) $("detail").focus();
}

// ---- actions ----

function amountInput() {
  const raw = $("action-amount").value.trim();
  if (!raw) return null;
  if (!/^\d+$/.test(raw)) throw new GraphQLRequestError("The amount is a whole number of minor units (cents).", "INVALID_INPUT");
  return Number(raw);
}

async function act(label, run) {
  if (!state.detail || state.busy) return;
  $("action-result").textContent = "";
  $("action-error").textContent = "";
  state.busy = true;
  renderActions(state.detail);
  try {
    const message = await run();
    if (message) $("action-result").textContent = message;
  } catch (error) {
    $("action-error").textContent = `${label} failed: ${errorText(error)}`;
  } finally {
    state.busy = false;
    await loadDetail(state.detail.id);
  }
}

function unwrap(payload) {
  if (payload.userErrors.length) throw new GraphQLRequestError(userErrorText(payload.userErrors), payload.userErrors[0].code);
  return payload;
}

function capture() {
  return act("Capture", async () => {
    const input = { id: state.detail.id, amountToCapture: amountInput() };
    const data = await graphql(CAPTURE, { input, key: newIdempotencyKey() }, state.key);
    return `Captured: now ${unwrap(data.capturePaymentIntent).paymentIntent.status}.`;
  });
}

function cancel() {
  return act("Cancel", async () => {
    const data = await graphql(CANCEL, { input: { id: state.detail.id }, key: newIdempotencyKey() }, state.key);
    return `Canceled: now ${unwrap(data.cancelPaymentIntent).paymentIntent.status}.`;
  });
}

function refund() {
  return act("Refund", async () => {
    const input = { id: state.detail.id, amount: amountInput(), reason: $("refund-reason").value || null };
    const data = await graphql(REFUND, { input, key: newIdempotencyKey() }, state.key);
    const { refund: made } = unwrap(data.refundPaymentIntent);
    return `Refunded ${formatMoney(made.amount, made.currency)} (${made.id}).`;
  });
}

// ---- webhook endpoints ----

async function loadEndpoints() {
  try {
    state.endpoints = (await graphql(ENDPOINTS, {}, state.key)).webhookEndpoints;
  } catch (error) {
    $("endpoint-error").textContent = errorText(error);
    return;
  }
  const body = document.querySelector("#endpoints tbody");
  body.replaceChildren();
  for (const endpoint of state.endpoints) {
    const row = body.insertRow();
    row.dataset.id = endpoint.id;
    cell(row, endpoint.url, "mono");
    cell(row, endpoint.enabledEvents.join(", "));
    cell(row, endpoint.disabled ? "disabled" : "enabled");
    cell(row, button("Rotate secret", () => rotate(endpoint), { "aria-label": `Rotate the secret of ${endpoint.url}` }));
  }
  $("endpoints-empty").hidden = state.endpoints.length > 0;
  if (state.detail) renderEvents(state.detail);
}

function showSecret(label, secret) {
  $("endpoint-secret-label").textContent = label;
  $("endpoint-secret-value").textContent = secret;
  $("endpoint-secret").hidden = false;
  $("endpoint-secret-done").focus();
}

async function createEndpoint(event) {
  event.preventDefault();
  $("endpoint-error").textContent = "";
  const url = $("endpoint-url").value.trim();
  if (!url) {
    $("endpoint-error").textContent = "Enter the URL that should receive the webhooks.";
    $("endpoint-url").focus();
    return;
  }
  const enabledEvents = $("endpoint-events").value.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    const input = { url, enabledEvents: enabledEvents.length ? enabledEvents : ["*"] };
    const data = await graphql(CREATE_ENDPOINT, { input, key: newIdempotencyKey() }, state.key);
    const payload = unwrap(data.createWebhookEndpoint);
    $("endpoint-url").value = "";
    showSecret(`Signing secret of ${payload.webhookEndpoint.url}`, payload.secret);
    await loadEndpoints();
  } catch (error) {
    $("endpoint-error").textContent = errorText(error);
  }
}

async function rotate(endpoint) {
  $("endpoint-error").textContent = "";
  try {
    const data = await graphql(ROTATE, { input: { id: endpoint.id } }, state.key);
    const payload = unwrap(data.rotateWebhookSecret);
    showSecret(`New signing secret of ${endpoint.url} (the old one keeps working for a day)`, payload.secret);
  } catch (error) {
    $("endpoint-error").textContent = errorText(error);
  }
}

async function resend(eventId, endpointId) {
  await act("Resend", async () => {
    const data = await graphql(RESEND, { input: { eventId, endpointId } }, state.key);
    const { delivery } = unwrap(data.resendEvent);
    return `Resent ${eventId}: delivery ${delivery.id} is ${delivery.status}.`;
  });
}

// ---- wiring ----

function main() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useKey($("secret-key").value.trim());
  });
  $("forget-key").addEventListener("click", forgetKey);
  $("signup").addEventListener("click", signup);
  $("status-filter").addEventListener("change", () => reloadIntents());
  $("load-more").addEventListener("click", () => loadPage());
  $("capture").addEventListener("click", capture);
  $("cancel").addEventListener("click", cancel);
  $("refund").addEventListener("click", refund);
  $("endpoint-form").addEventListener("submit", createEndpoint);
  $("endpoint-secret-done").addEventListener("click", () => {
    $("endpoint-secret").hidden = true;
    $("endpoint-secret-value").textContent = "";
    $("endpoint-url").focus();
  });
  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (saved) useKey(saved);
}

main();
