"""The shopper's inbox and push devices."""

from flask import request
from flask.views import MethodView

from app.accounts.permissions import current_user_id, login_required
from app.blueprint import Blueprint
from app.extensions import db
from app.notifications import devices, schemas, service
from app.notifications.messages import LOCALES
from app.pagination import PageArgsSchema

notifications_blp = Blueprint(
    "notifications", __name__, url_prefix="/v1/me", description="The shopper's inbox and devices"
)


@notifications_blp.route("/notifications")
class Inbox(MethodView):
    @login_required
    @notifications_blp.arguments(PageArgsSchema, location="query")
    @notifications_blp.response(200, schemas.InboxSchema)
    def get(self, args):
        """My notifications, newest first, in my language, with the unread count."""
        return service.list_inbox(
            session=db.session,
            user_id=current_user_id(),
            request_locale=request.accept_languages.best_match(LOCALES),
            **args,
        )


@notifications_blp.route("/notifications:read")
class InboxRead(MethodView):
    @login_required
    @notifications_blp.arguments(schemas.MarkReadSchema)
    @notifications_blp.response(200, schemas.MarkedSchema)
    def post(self, data):
        """Mark notifications read: the ids given, or every one up to an id."""
        result = service.mark_read(session=db.session, user_id=current_user_id(), **data)
        db.session.commit()
        return result


@notifications_blp.route("/devices")
class Devices(MethodView):
    @login_required
    @notifications_blp.response(200, schemas.DeviceListSchema)
    def get(self):
        """My push devices, last seen first."""
        return {"items": devices.list_devices(session=db.session, user_id=current_user_id())}


@notifications_blp.route("/devices/<installation:installation_id>")
class Device(MethodView):
    @login_required
    @notifications_blp.arguments(schemas.DevicePutSchema)
    @notifications_blp.response(200, schemas.DeviceSchema)
    def put(self, data, installation_id):
        """Register this app installation for pushes, or refresh its token and last-seen time."""
        device = devices.put_device(
            session=db.session,
            user_id=current_user_id(),
            installation_id=installation_id,
            data=data,
        )
        db.session.commit()
        return device

    @login_required
    @notifications_blp.response(204)
    @notifications_blp.alt_response(404, description="No such device of mine")
    def delete(self, installation_id):
        """Stop pushes to this installation (on sign-out)."""
        devices.delete_device(
            session=db.session,
            user_id=current_user_id(),
            installation_id=installation_id,
        )
        db.session.commit()
