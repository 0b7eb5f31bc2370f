"""GraphQL documents the API tests share."""

INTENT_FIELDS = """
  id status amount currency captureMethod amountCapturable amountReceived amountRefunded clientSecret version
  lastPaymentError { code declineCode message }
"""

CREATE = f"""
mutation($input: CreatePaymentIntentInput!, $key: String!) {{
  createPaymentIntent(input: $input, idempotencyKey: $key) {{
    paymentIntent {{ {INTENT_FIELDS} }} userErrors {{ code field message }} idempotentReplayed
  }}
}}"""

PROCESS = f"""
mutation($input: ProcessPaymentIntentInput!, $key: String!) {{
  processPaymentIntent(input: $input, idempotencyKey: $key) {{
    paymentIntent {{ {INTENT_FIELDS} attempts {{ cardLast4 outcome declineCode riskLevel riskScore }} }}
    userErrors {{ code field message }} idempotentReplayed
  }}
}}"""

AUTHENTICATE = f"""
mutation($input: AuthenticatePaymentIntentInput!) {{
  authenticatePaymentIntent(input: $input) {{ paymentIntent {{ {INTENT_FIELDS} }} userErrors {{ code message }} }}
}}"""

CAPTURE = f"""
mutation($input: CapturePaymentIntentInput!, $key: String!) {{
  capturePaymentIntent(input: $input, idempotencyKey: $key) {{
    paymentIntent {{ {INTENT_FIELDS} }} userErrors {{ code field message }} idempotentReplayed
  }}
}}"""

CANCEL = f"""
mutation($input: CancelPaymentIntentInput!, $key: String) {{
  cancelPaymentIntent(input: $input, idempotencyKey: $key) {{
    paymentIntent {{ {INTENT_FIELDS} }} userErrors {{ code field message }}
  }}
}}"""

REFUND = f"""
mutation($input: RefundPaymentIntentInput!, $key: String!) {{
  refundPaymentIntent(input: $input, idempotencyKey: $key) {{
    refund {{ id amount status reason }} paymentIntent {{ {INTENT_FIELDS} }}
    userErrors {{ code field message }} idempotentReplayed
  }}
}}"""

GET = f"""
query($id: ID!, $secret: String) {{ paymentIntent(id: $id, clientSecret: $secret) {{ {INTENT_FIELDS} }} }}"""


def card(number: str = "4242424242424242", exp_year: int = 2034, cvc: str = "123") -> dict[str, object]:
    return {"number": number, "expMonth": 12, "expYear": exp_year, "cvc": cvc}
