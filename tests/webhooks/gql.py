"""GraphQL documents of the webhook tests."""

ENDPOINT_FIELDS = "id url enabledEvents disabled disabledReason description createdAt"

CREATE_ENDPOINT = f"""
mutation($input: CreateWebhookEndpointInput!, $key: String) {{
  createWebhookEndpoint(input: $input, idempotencyKey: $key) {{
    webhookEndpoint {{ {ENDPOINT_FIELDS} }} secret idempotentReplayed userErrors {{ code field message }}
  }}
}}"""

UPDATE_ENDPOINT = f"""
mutation($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }} userErrors {{ code field message }} }}
}}"""

DELETE_ENDPOINT = f"""
mutation($input: DeleteWebhookEndpointInput!) {{
  deleteWebhookEndpoint(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }} userErrors {{ code field message }} }}
}}"""

ROTATE = f"""
mutation($input: RotateWebhookSecretInput!) {{
  rotateWebhookSecret(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} }} secret userErrors {{ code message }} }}
}}"""

RESEND = """
mutation($input: ResendEventInput!) {
  resendEvent(input: $input) {
    delivery { id status endpoint { id } attempts { statusCode } } userErrors { code field message }
  }
}"""

REQUEUE = f"""
mutation($input: RequeueFailedDeliveriesInput!) {{
  requeueFailedDeliveries(input: $input) {{
    webhookEndpoint {{ {ENDPOINT_FIELDS} }} requeuedCount userErrors {{ code field message }}
  }}
}}"""

ENDPOINTS = f"query {{ webhookEndpoints {{ {ENDPOINT_FIELDS} }} }}"

EVENTS = """
query($types: [String!], $first: Int) {
  events(types: $types, first: $first) {
    edges { node { id type data deliveries {
      id status nextAttemptAt attemptCount endpoint { id url }
      attempts { at statusCode latencyMs error }
    } } }
  }
}"""
