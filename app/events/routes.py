"""Merchant endpoints of the data bus: webhook endpoints, their delivery log, the event feed."""

from flask.views import MethodView

from app.accounts.permissions import staff_required
from app.blueprint import Blueprint
from app.events import delivery_log, schemas
from app.events import service as events_service
from app.extensions import db
from app.fields import changes
from app.pagination import PageArgsSchema

admin_events_blp = Blueprint(
    "admin: webhooks and events",
    __name__,
    url_prefix="/v1/admin",
    description="Signed webhooks (Standard Webhooks), their deliveries, and every event",
)
MANAGERS = ("owner", "operator")


@admin_events_blp.route("/webhooks")
class Webhooks(MethodView):
    @staff_required(*MANAGERS)
    @admin_events_blp.arguments(PageArgsSchema, location="query")
    @admin_events_blp.response(200, schemas.WebhookPageSchema)
    def get(self, args, staff):
        """The merchant's webhook endpoints, newest first."""
        items, next_cursor = events_service.list_endpoints(
            session=db.session, merchant_id=staff.merchant_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}

    @staff_required(*MANAGERS)
    @admin_events_blp.arguments(schemas.WebhookCreateSchema)
    @admin_events_blp.response(201, schemas.WebhookWithSecretSchema)
    def post(self, data, staff):
        """Add an endpoint; the answer shows its signing secret, once."""
        endpoint = events_service.create_endpoint(
            session=db.session, merchant_id=staff.merchant_id, data=data
        )
        db.session.commit()
        return endpoint


@admin_events_blp.route("/webhooks/<int:endpoint_id>")
class Webhook(MethodView):
    @staff_required(*MANAGERS)
    @admin_events_blp.response(200, schemas.WebhookSchema)
    def get(self, endpoint_id, staff):
        """One endpoint and its state (enabled, failures in a row); never its secret."""
        return events_service.get_endpoint(
            session=db.session, merchant_id=staff.merchant_id, endpoint_id=endpoint_id
        )

    @staff_required(*MANAGERS)
    @admin_events_blp.arguments(changes(schemas.WebhookUpdateSchema))
    @admin_events_blp.response(200, schemas.WebhookSchema)
    def patch(self, changes, endpoint_id, staff):
        """Change an endpoint's URL, description or event types."""
        endpoint = events_service.update_endpoint(
            session=db.session,
            merchant_id=staff.merchant_id,
            endpoint_id=endpoint_id,
            changes=changes,
        )
        db.session.commit()
        return endpoint

    @staff_required(*MANAGERS)
    @admin_events_blp.response(204)
    def delete(self, endpoint_id, staff):
        """Remove an endpoint and its delivery log."""
        events_service.delete_endpoint(
            session=db.session, merchant_id=staff.merchant_id, endpoint_id=endpoint_id
        )
        db.session.commit()


@admin_events_blp.route("/webhooks/<int:endpoint_id>:rotate-secret")
class WebhookSecret(MethodView):
    @staff_required(*MANAGERS)
    @admin_events_blp.arguments(schemas.RotateSecretSchema)
    @admin_events_blp.response(200, schemas.WebhookWithSecretSchema)
    def post(self, data, endpoint_id, staff):
        """A new secret (shown once); the old one also signs during the overlap."""
        endpoint = events_service.rotate_secret(
            session=db.session, merchant_id=staff.merchant_id, endpoint_id=endpoint_id, **data
        )
        db.session.commit()
        return endpoint


@admin_events_blp.route("/webhooks/<int:endpoint_id>:<any(enable,disable):action>")
class WebhookSwitch(MethodView):
    @staff_required(*MANAGERS)
    @admin_events_blp.response(200, schemas.WebhookSchema)
    def post(self, endpoint_id, action, staff):
        """Enable (resets the failure run) or disable an endpoint."""
        endpoint = events_service.set_enabled(
            session=db.session,
            merchant_id=staff.merchant_id,
            endpoint_id=endpoint_id,
            enabled=action == "enable",
        )
        db.session.commit()
        return endpoint


@admin_events_blp.route("/webhooks/<int:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @staff_required(*MANAGERS)
    @admin_events_blp.arguments(schemas.DeliveryArgsSchema, location="query")
    @admin_events_blp.response(200, schemas.DeliveryPageSchema)
    def get(self, args, endpoint_id, staff):
        """An endpoint's deliveries, newest first, with each attempt's code, duration, excerpt."""
        items, next_cursor = delivery_log.list_deliveries(
            session=db.session, merchant_id=staff.merchant_id, endpoint_id=endpoint_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}


@admin_events_blp.route("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>:redeliver")
class Redeliver(MethodView):
    @staff_required(*MANAGERS)
    @admin_events_blp.response(202, schemas.DeliverySchema)
    @admin_events_blp.alt_response(409, description="The endpoint is disabled")
    def post(self, endpoint_id, delivery_id, staff):
        """Send a delivery's event again (same webhook-id) as a new delivery."""
        delivery = delivery_log.redeliver(
            session=db.session,
            merchant_id=staff.merchant_id,
            endpoint_id=endpoint_id,
            delivery_id=delivery_id,
        )
        db.session.commit()
        return delivery


@admin_events_blp.route("/events")
class Events(MethodView):
    @staff_required(*MANAGERS)
    @admin_events_blp.arguments(schemas.EventArgsSchema, location="query")
    @admin_events_blp.response(200, schemas.EventPageSchema)
    def get(self, args, staff):
        """Every event of the merchant of the last 30 days, in commit order (resumable)."""
        return events_service.list_events(session=db.session, merchant_id=staff.merchant_id, **args)
