// Checkout page: what a merchant's frontend does with a publishable key and a clientSecret.
// The shop's back end (/demo/checkout/session) made the payment intent; from here on
// everything goes through the public GraphQL API.
import { graphql, newIdempotencyKey, formatMoney, STATUS_WORDS, SubscriptionClient } from "./graphql.js";

const INTENT_FIELDS = "id status amount currency version lastPaymentError { code declineCode message }";
const PROCESS = `mutation($input: ProcessPaymentIntentInput!, $key: String!) {
  processPaymentIntent(input: $input, idempotencyKey: $key) {
    paymentIntent { ${INTENT_FIELDS} } userErrors { code field message } } }`;
const AUTHENTICATE = `mutation($input: AuthenticatePaymentIntentInput!) {
  authenticatePaymentIntent(input: $input) {
    paymentIntent { ${INTENT_FIELDS} } userErrors { code field message } } }`;
const UPDATED = `subscription($id: ID!, $secret: String) {
  paymentIntentUpdated(id: $id, clientSecret: $secret) { ${INTENT_FIELDS} } }`;

// The bank simulator's table from API.md.
const TEST_CARDS = [
  ["4242 4242 4242 4242", "Approved"],
  ["5555 5555 5555 4444", "Approved (Mastercard)"],
  ["4000 0027 6000 3184", "3-D Secure challenge, then approved or failed"],
  ["4000 0000 0000 9235", "Approved with elevated risk"],
  ["4000 0000 0000 0002", "Declined: generic_decline"],
  ["4000 0000 0000 9995", "Declined: insufficient_funds"],
  ["4000 0000 0000 9987", "Declined: lost_card"],
  ["4000 0000 0000 9979", "Declined: stolen_card"],
  ["4000 0000 0000 0069", "Declined: expired_card"],
  ["4000 0000 0000 0127", "Declined: incorrect_cvc"],
  ["4000 0000 0000 0119", "Declined: processing_error"],
  ["4100 0000 0000 0019", "Blocked as fraud (risk HIGHEST)"],
];
// Statuses in which the customer may (re)submit a card.
const PAYABLE = new Set(["CREATED", "FAILED"]);

const $ = (id) => document.getElementById(id);
const state = { session: null, intent: null, busy: false, liveReady: false, seenVersions: new Set() };

// ---- client-side card checks (the API checks again: these only spare a round trip) ----

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

function checkNumber(raw) {
  const digits = raw.replace(/[\s-]/g, "");
  if (!digits) return [null, "Enter the card number."];
  if (!/^\d{12,19}$/.test(digits)) return [null, "A card number has 12 to 19 digits."];
  if (!luhnValid(digits)) return [null, "This card number is not valid; check for a typo."];
  return [digits, null];
}

function checkExpiry(raw, today = new Date()) {
  const match = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(raw);
  if (!match) return [null, "Enter the expiry as MM/YY."];
  const month = Number(match[1]);
  const year = match[2].length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
  if (month < 1 || month > 12) return [null, "The month must be between 01 and 12."];
  const endOfMonth = new Date(year, month, 1);
  if (endOfMonth <= today) return [null, "This card has expired."];
  return [{ expMonth: month, expYear: year }, null];
}

function checkCvc(raw) {
  const cvc = raw.trim();
  if (!/^\d{3,4}$/.test(cvc)) return [null, "The security code is 3 or 4 digits."];
  return [cvc, null];
}

function showFieldError(inputId, message) {
  const input = $(inputId);
  $(`${inputId}-error`).textContent = message || "";
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function readCard() {
  const [number, numberError] = checkNumber($("card-number").value);
  const [expiry, expiryError] = checkExpiry($("card-expiry").value);
  const [cvc, cvcError] = checkCvc($("card-cvc").value);
  showFieldError("card-number", numberError);
  showFieldError("card-expiry", expiryError);
  showFieldError("card-cvc", cvcError);
  const firstBad = [
    ["card-number", numberError],
    ["card-expiry", expiryError],
    ["card-cvc", cvcError],
  ].find(([, error]) => error);
  if (firstBad) {
    $(firstBad[0]).focus();
    return null;
  }
  return { number, expMonth: expiry.expMonth, expYear: expiry.expYear, cvc };
}

// ---- rendering ----

function setLive(stateName) {
  const words = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    refused: "offline: showing each request's result",
    closed: "offline: showing each request's result",
  };
  $("live-indicator").dataset.state = stateName;
  $("live-indicator").textContent = words[stateName] || stateName;
}

function canPay() {
  const status = state.intent ? state.intent.status : null;
  return Boolean(state.session) && state.liveReady && !state.busy && PAYABLE.has(status);
}

function refreshButton() {
  $("pay-button").disabled = !canPay();
}

function addToTimeline(intent) {
  if (state.seenVersions.has(intent.version)) return;
  state.seenVersions.add(intent.version);
  const item = document.createElement("li");
  item.dataset.version = intent.version;
  item.dataset.status = intent.status;
  item.textContent = `v${intent.version} · ${intent.status} — ${STATUS_WORDS[intent.status] || ""}`;
  const list = $("timeline");
  const after = Array.from(list.children).find((li) => Number(li.dataset.version) > intent.version);
  list.insertBefore(item, after || null);
}

function declineText(error) {
  const detail = error.declineCode ? `decline code: ${error.declineCode}` : `code: ${error.code}`;
  return `${error.message} (${detail})`;
}

function applyIntent(intent, fromSubscription) {
  if (fromSubscription) addToTimeline(intent);
  // Messages and mutation answers may cross: the highest version is the truth.
  if (state.intent && intent.version < state.intent.version) return;
  state.intent = intent;
  const status = $("payment-status");
  status.dataset.status = intent.status;
  status.textContent = `${STATUS_WORDS[intent.status] || intent.status} (${intent.status})`;
  $("payment-error").textContent =
    intent.status === "FAILED" && intent.lastPaymentError ? declineText(intent.lastPaymentError) : "";
  $("payment-success").textContent =
    intent.status === "SUCCEEDED" ? `Payment of ${formatMoney(intent.amount, intent.currency)} succeeded. Thank you!` : "";
  $("new-checkout").hidden = !["SUCCEEDED", "CANCELED"].includes(intent.status);
  if (intent.status === "REQUIRES_ACTION") openChallenge();
  else if ($("three-ds").open) $("three-ds").close();
  refreshButton();
}

// ---- talking to the API ----

async function runMutation(query, input, field, withKey) {
  state.busy = true;
  refreshButton();
  try {
    const variables = withKey ? { input, key: newIdempotencyKey() } : { input };
    const data = await graphql(query, variables, state.session.publishableKey);
    const payload = data[field];
    if (payload.userErrors.length) {
      const error = payload.userErrors[0];
      $("payment-error").textContent = `${error.message} (${error.code})`;
      return;
    }
    applyIntent(payload.paymentIntent, false);
  } catch (error) {
    $("payment-error").textContent = `${error.message} (${error.code})`;
  } finally {
    state.busy = false;
    refreshButton();
  }
}

async function pay(event) {
  event.preventDefault();
  if (!canPay()) return;
  const card = readCard();
  if (!card) return;
  $("payment-error").textContent = "";
  $("pay-button").textContent = "Paying…";
  const { paymentIntentId, clientSecret } = state.session;
  await runMutation(PROCESS, { id: paymentIntentId, clientSecret, card }, "processPaymentIntent", true);
  $("pay-button").textContent = `Pay ${formatMoney(state.session.amount, state.session.currency)}`;
}

function openChallenge() {
  const dialog = $("three-ds");
  if (dialog.open) return;
  $("three-ds-amount").textContent = formatMoney(state.intent.amount, state.intent.currency);
  dialog.showModal();
  $("three-ds-approve").focus();
}

async function authenticate(succeed) {
  $("three-ds").close();
  const { paymentIntentId, clientSecret } = state.session;
  await runMutation(AUTHENTICATE, { id: paymentIntentId, clientSecret, succeed }, "authenticatePaymentIntent", false);
  $("pay-button").focus();
}

function subscribe() {
  const client = new SubscriptionClient(state.session.publishableKey, { onState: setLive });
  const ready = () => {
    state.liveReady = true;
    refreshButton();
  };
  client.subscribe(
    UPDATED,
    { id: state.session.paymentIntentId, secret: state.session.clientSecret },
    {
      next: (data) => {
        applyIntent(data.paymentIntentUpdated, true);
        ready();
      },
      error: (error) => {
        // Without live updates the page still works: it shows each mutation's answer.
        setLive("refused");
        $("live-indicator").title = error.message;
        ready();
      },
      complete: () => setLive("closed"),
    },
  );
}

async function startSession() {
  const response = await fetch("/demo/checkout/session", { method: "POST" });
  if (!response.ok) throw new Error(`The shop could not start a checkout (HTTP ${response.status}).`);
  state.session = await response.json();
  const total = formatMoney(state.session.amount, state.session.currency);
  $("order-total").textContent = total;
  $("order-intent").textContent = state.session.paymentIntentId;
  $("pay-button").textContent = `Pay ${total}`;
  applyIntent(
    {
      id: state.session.paymentIntentId,
      status: "CREATED",
      amount: state.session.amount,
      currency: state.session.currency,
      version: 0,
      lastPaymentError: null,
    },
    false,
  );
  subscribe();
}

function renderTestCards() {
  const body = document.querySelector("#test-cards tbody");
  for (const [number, outcome] of TEST_CARDS) {
    const row = body.insertRow();
    const numberCell = row.insertCell();
    numberCell.className = "mono";
    numberCell.textContent = number;
    row.insertCell().textContent = outcome;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small";
    button.textContent = "Use";
    button.setAttribute("aria-label", `Use card ${number}`);
    button.addEventListener("click", () => {
      $("card-number").value = number;
      if (!$("card-expiry").value) $("card-expiry").value = `12/${String(new Date().getFullYear() + 5).slice(2)}`;
      if (!$("card-cvc").value) $("card-cvc").value = "123";
      $("card-number").focus();
    });
    row.insertCell().append(button);
  }
}

function main() {
  renderTestCards();
  $("pay-form").addEventListener("submit", pay);
  $("three-ds-approve").addEventListener("click", () => authenticate(true));
  $("three-ds-fail").addEventListener("click", () => authenticate(false));
  // Escape would hide the challenge and leave the payment stuck in REQUIRES_ACTION: pick an outcome.
  $("three-ds").addEventListener("cancel", (event) => event.preventDefault());
  $("new-checkout").addEventListener("click", () => window.location.reload());
  startSession().catch((error) => {
    $("session-error").textContent = error.message;
    $("payment-status").textContent = "Unavailable";
  });
}

main();
