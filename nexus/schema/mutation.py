"""Mutation root: each field delegates to its module under schema/mutations/."""

from __future__ import annotations

import strawberry

from nexus.schema.mutations.authenticate_payment_intent import authenticate_payment_intent
from nexus.schema.mutations.cancel_payment_intent import cancel_payment_intent
from nexus.schema.mutations.capture_payment_intent import capture_payment_intent
from nexus.schema.mutations.create_payment_intent import create_payment_intent
from nexus.schema.mutations.create_webhook_endpoint import create_webhook_endpoint
from nexus.schema.mutations.delete_webhook_endpoint import delete_webhook_endpoint
from nexus.schema.mutations.process_payment_intent import process_payment_intent
from nexus.schema.mutations.refund_payment_intent import refund_payment_intent
from nexus.schema.mutations.requeue_failed_deliveries import requeue_failed_deliveries
from nexus.schema.mutations.resend_event import resend_event
from nexus.schema.mutations.roll_api_key import roll_api_key
from nexus.schema.mutations.rotate_webhook_secret import rotate_webhook_secret
from nexus.schema.mutations.signup_merchant import signup_merchant
from nexus.schema.mutations.update_webhook_endpoint import update_webhook_endpoint


@strawberry.type
class Mutation:
    signup_merchant = strawberry.mutation(resolver=signup_merchant)
    roll_api_key = strawberry.mutation(resolver=roll_api_key)
    create_payment_intent = strawberry.mutation(resolver=create_payment_intent)
    process_payment_intent = strawberry.mutation(resolver=process_payment_intent)
    authenticate_payment_intent = strawberry.mutation(resolver=authenticate_payment_intent)
    capture_payment_intent = strawberry.mutation(resolver=capture_payment_intent)
    cancel_payment_intent = strawberry.mutation(resolver=cancel_payment_intent)
    refund_payment_intent = strawberry.mutation(resolver=refund_payment_intent)
    create_webhook_endpoint = strawberry.mutation(resolver=create_webhook_endpoint)
    update_webhook_endpoint = strawberry.mutation(resolver=update_webhook_endpoint)
    delete_webhook_endpoint = strawberry.mutation(resolver=delete_webhook_endpoint)
    rotate_webhook_secret = strawberry.mutation(resolver=rotate_webhook_secret)
    resend_event = strawberry.mutation(resolver=resend_event)
    requeue_failed_deliveries = strawberry.mutation(resolver=requeue_failed_deliveries)
