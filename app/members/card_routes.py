"""Service card endpoints: templates (merchant), the wallet (shopper), uses at the store (staff)."""

from flask.views import MethodView

from app.accounts.permissions import current_user_id, login_required, staff_required
from app.blueprint import Blueprint
from app.extensions import db
from app.fields import changes
from app.members import schemas, service_cards
from app.pagination import PageArgsSchema

cards_blp = Blueprint("service cards", __name__, url_prefix="/v1", description="Service cards")
admin_cards_blp = Blueprint(
    "admin: service cards", __name__, url_prefix="/v1/admin", description="Service card templates"
)
EDITORS = ("owner", "operator")
TILL_ROLES = ("owner", "operator", "store_manager")


@admin_cards_blp.route("/service-card-templates")
class Templates(MethodView):
    @staff_required(*EDITORS)
    @admin_cards_blp.arguments(PageArgsSchema, location="query")
    @admin_cards_blp.response(200, schemas.TemplatePageSchema)
    def get(self, args, staff):
        """The merchant's service card templates, newest first."""
        items, next_cursor = service_cards.list_templates(
            session=db.session, merchant_id=staff.merchant_id, **args
        )
        return {"items": items, "next_cursor": next_cursor}

    @staff_required(*EDITORS)
    @admin_cards_blp.arguments(schemas.TemplateSchema)
    @admin_cards_blp.response(201, schemas.TemplateSchema)
    def post(self, data, staff):
        """A template: services with counts, validity, the SKUs it comes with."""
        template = service_cards.create_template(
            session=db.session, merchant_id=staff.merchant_id, data=data
        )
        db.session.commit()
        return template


@admin_cards_blp.route("/service-card-templates/<int:template_id>")
class Template(MethodView):
    @staff_required(*EDITORS)
    @admin_cards_blp.response(200, schemas.TemplateSchema)
    def get(self, template_id, staff):
        """One template."""
        return service_cards.get_template(
            session=db.session, merchant_id=staff.merchant_id, template_id=template_id
        )

    @staff_required(*EDITORS)
    @admin_cards_blp.arguments(changes(schemas.TemplateUpdateSchema))
    @admin_cards_blp.response(200, schemas.TemplateSchema)
    def patch(self, changes, template_id, staff):
        """Change a template (issued cards keep theirs)."""
        template = service_cards.update_template(
            session=db.session,
            merchant_id=staff.merchant_id,
            template_id=template_id,
            changes=changes,
        )
        db.session.commit()
        return template


@cards_blp.route("/wallet/service-cards")
class Wallet(MethodView):
    @login_required
    @cards_blp.arguments(schemas.CardListArgsSchema, location="query")
    @cards_blp.response(200, schemas.CardPageSchema)
    def get(self, args):
        """Your service cards, newest first (active, used up, expired)."""
        items, next_cursor = service_cards.list_wallet(
            session=db.session, user_id=current_user_id(), **args
        )
        return {"items": items, "next_cursor": next_cursor}


@cards_blp.route("/wallet/service-cards/<int:card_id>")
class WalletCard(MethodView):
    @login_required
    @cards_blp.response(200, schemas.CardSchema)
    def get(self, card_id):
        """One card: what is left of each service, where it can be used, its uses."""
        return service_cards.get_own(session=db.session, user_id=current_user_id(), card_id=card_id)


@admin_cards_blp.route("/stores/<int:store_id>/service-cards:use")
class Use(MethodView):
    @staff_required(*TILL_ROLES)
    @admin_cards_blp.arguments(schemas.UseSchema)
    @admin_cards_blp.response(200, schemas.CardSchema)
    @admin_cards_blp.alt_response(409, description="Used up or expired")
    def post(self, data, store_id, staff):
        """Take one use of a service on a card, at any store of the merchant."""
        card = service_cards.use_service(
            session=db.session,
            merchant_id=staff.merchant_id,
            store_scope=staff.store_scope,
            store_id=store_id,
            staff_user_id=staff.user_id,
            **data,
        )
        db.session.commit()
        return card
