// A small GraphQL client for the demo pages, written here so no third-party code ships:
// queries and mutations over POST /graphql, subscriptions over WebSocket with the
// graphql-transport-ws protocol (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).

export class GraphQLRequestError extends Error {
  constructor(message, code, errors = []) {
    super(message);
    this.name = "GraphQLRequestError";
    this.code = code;
    this.errors = errors;
  }
}

function errorFrom(errors) {
  const first = (errors && errors[0]) || {};
  const code = (first.extensions && first.extensions.code) || "GRAPHQL_ERROR";
  return new GraphQLRequestError(first.message || "The request failed", code, errors || []);
}

/** POST one operation; resolves to `data`, rejects with a GraphQLRequestError (top-level errors). */
export async function graphql(query, variables = {}, key = null) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    throw new GraphQLRequestError("The server cannot be reached; check that it is running.", "NETWORK_ERROR");
  }
  let body;
  try {
    body = await response.json();
  } catch (error) {
    throw new GraphQLRequestError(`Unexpected HTTP ${response.status} from /graphql`, "HTTP_ERROR");
  }
  if (body.errors && body.errors.length) throw errorFrom(body.errors);
  return body.data;
}

/** A fresh idempotency key per user action (retrying the same action reuses it). */
export function newIdempotencyKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const PROTOCOL = "graphql-transport-ws";
// Reconnect waits double from 0.5 s to 8 s: quick after a server restart, gentle while it stays down.
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8000;
// Close codes 4400-4499 are the server refusing us (bad key 4403, bad message 4400, ...):
// retrying cannot help, so those end the client.
const FATAL_CLOSE_MIN = 4400;
const FATAL_CLOSE_MAX = 4499;

/**
 * One WebSocket for any number of subscriptions, authenticated in connection_init.
 * `onState(state)` hears "connecting" | "live" | "reconnecting" | "refused" | "closed".
 * After a reconnect every subscription is sent again and its sink's `restarted()` is called,
 * so the page can reload whatever it may have missed while offline.
 */
export class SubscriptionClient {
  constructor(key, { onState = () => {} } = {}) {
    this.key = key;
    this.onState = onState;
    this.subscriptions = new Map();
    this.nextId = 1;
    this.socket = null;
    this.acknowledged = false;
    this.everAcknowledged = false;
    this.stopped = false;
    this.retryMs = RECONNECT_MIN_MS;
  }

  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { query, variables, sink });
    if (this.acknowledged) this.sendSubscribe(id);
    else this.connect();
    return () => {
      if (this.subscriptions.delete(id) && this.acknowledged) this.send({ id, type: "complete" });
    };
  }

  close() {
    this.stopped = true;
    this.subscriptions.clear();
    if (this.socket) this.socket.close(1000, "bye");
  }

  url() {
    const url = new URL("/graphql", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  connect() {
    if (this.socket || this.stopped) return;
    this.onState(this.everAcknowledged ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url(), PROTOCOL);
    this.socket = socket;
    socket.onopen = () => this.send({ type: "connection_init", payload: { authorization: `Bearer ${this.key}` } });
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => this.closed(socket, event.code);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  sendSubscribe(id) {
    const { query, variables } = this.subscriptions.get(id);
    this.send({ id, type: "subscribe", payload: { query, variables } });
  }

  receive(message) {
    const entry = message.id ? this.subscriptions.get(message.id) : null;
    switch (message.type) {
      case "connection_ack": {
        const restarted = this.everAcknowledged;
        this.acknowledged = this.everAcknowledged = true;
        this.retryMs = RECONNECT_MIN_MS;
        this.onState("live");
        for (const [id, sub] of this.subscriptions) {
          this.sendSubscribe(id);
          if (restarted && sub.sink.restarted) sub.sink.restarted();
        }
        break;
      }
      case "ping":
        this.send({ type: "pong", payload: message.payload });
        break;
      case "next":
        if (!entry) break;
        if (message.payload.errors && message.payload.errors.length) {
          if (entry.sink.error) entry.sink.error(errorFrom(message.payload.errors));
        } else {
          entry.sink.next(message.payload.data);
        }
        break;
      case "error":
        this.subscriptions.delete(message.id);
        if (entry && entry.sink.error) entry.sink.error(errorFrom(message.payload));
        break;
      case "complete":
        this.subscriptions.delete(message.id);
        if (entry && entry.sink.complete) entry.sink.complete();
        break;
      default:
        break;
    }
  }

  closed(socket, code) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.acknowledged = false;
    if (code >= FATAL_CLOSE_MIN && code <= FATAL_CLOSE_MAX) {
      this.stopped = true;
      this.onState("refused");
      const error = new GraphQLRequestError(
        code === 4403 ? "The API key was refused for live updates." : `Live updates refused (code ${code}).`,
        code === 4403 ? "UNAUTHENTICATED" : "SUBSCRIPTION_REFUSED",
      );
      for (const { sink } of this.subscriptions.values()) if (sink.error) sink.error(error);
      this.subscriptions.clear();
      return;
    }
    if (this.stopped || this.subscriptions.size === 0) {
      this.onState("closed");
      return;
    }
    this.onState("reconnecting");
    setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }
}

/** Amounts are integers in the currency's minor unit; Intl knows each currency's exponent. */
export function formatMoney(amount, currency) {
  const code = currency.toUpperCase();
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency: code });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(amount / 10 ** digits);
  } catch (error) {
    return `${amount} ${code} (minor units)`;
  }
}

/** Human words for an intent status (the enum value stays visible in the badge's data attribute). */
export const STATUS_WORDS = {
  CREATED: "Awaiting payment",
  PROCESSING: "Processing",
  REQUIRES_ACTION: "Requires authentication",
  REQUIRES_CAPTURE: "Authorized, awaiting capture",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  CANCELED: "Canceled",
};

export function statusBadge(status) {
  const badge = document.createElement("span");
  badge.className = "status-badge";
  badge.dataset.status = status;
  badge.textContent = status;
  badge.title = STATUS_WORDS[status] || status;
  return badge;
}
