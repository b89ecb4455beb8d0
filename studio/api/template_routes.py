"""/api/templates: the built-in templates and each account's own library beside them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from studio import templates as template_files
from studio.api.deps import current_user, hosted
from studio.api.docs import AUTHED, errors
from studio.auth.base import Principal
from studio.errors import NotFound
from studio.tables import AccountTemplate

router = APIRouter(prefix="/api", tags=["templates"])


def _body(name: str, t: dict, builtin: bool, own: dict | None = None) -> dict:
    fields = {k: v for k, v in t.items() if k != "source"}
    return {"name": name, "builtin": builtin, "label": t["label"], "version": t["version"], "fields": fields,
            **({"extends": own.get("extends")} if own and own.get("extends") else {})}


@router.get("/templates", responses=errors(*AUTHED))
def list_templates(request: Request, who: Principal = Depends(current_user)) -> dict:
    """Every template the caller can use: the built-in ones, then their own (resolved: ``extends`` applied)."""
    h = hosted(request)
    own = h.account_templates(who.user_id)
    resolved = h.studio_for(who.user_id).settings.templates
    return {"templates": [_body(name, t, name not in own, own.get(name)) for name, t in resolved.items()]}


@router.get("/templates/{name}", responses=errors(*AUTHED, 404))
def get_template(name: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    h = hosted(request)
    own = h.account_templates(who.user_id)
    resolved = h.studio_for(who.user_id).settings.templates
    if name not in resolved:
        raise NotFound(f"No template {name!r}.", code="template_not_found")
    return _body(name, resolved[name], name not in own, own.get(name))


@router.put("/templates/{name}", responses=errors(400, *AUTHED, 422))
def put_template(name: str, request: Request, fields: dict[str, Any] = Body(...),
                 who: Principal = Depends(current_user)) -> dict:
    """Save one of the caller's templates: its fields as in configs/templates/*.yaml (``version``, ``label``, …);
    ``extends`` may name a built-in template or another of theirs. A cycle in ``extends``, an unknown font or a
    colour outside #RRGGBB is refused naming the field. Built-in names are taken."""
    h = hosted(request)
    own = h.account_templates(who.user_id)
    s = h.settings
    resolved = template_files.check_account_template(name, fields, s.configs, s.user_templates_dir, own)
    for _ in range(2):  # two first saves of one name at once: the later updates the row the first made
        try:
            with h.db.session() as db:
                row = db.scalar(select(AccountTemplate).where(AccountTemplate.owner_id == who.user_id,
                                                              AccountTemplate.name == name))
                if row is None:
                    db.add(AccountTemplate(owner_id=who.user_id, name=name, fields=fields))
                else:
                    row.fields, row.updated_at = fields, datetime.now(UTC)
            break
        except IntegrityError:
            continue
    return _body(name, resolved, False, fields)


@router.delete("/templates/{name}", status_code=204, responses=errors(*AUTHED, 404, 422))
def delete_template(name: str, request: Request, who: Principal = Depends(current_user)) -> Response:
    """Delete one of the caller's templates. One that another of theirs extends is kept (422, naming it)."""
    h = hosted(request)
    own = h.account_templates(who.user_id)
    if name not in own:
        raise NotFound(f"No template {name!r} of yours.", code="template_not_found")
    users = sorted(n for n, f in own.items() if f.get("extends") == name)
    if users:
        from models.errors import InvalidRequest

        raise InvalidRequest(f"Template {users[0]!r} extends {name!r}.", "Delete or change that one first.")
    with h.db.session() as db:
        row = db.scalar(select(AccountTemplate).where(AccountTemplate.owner_id == who.user_id,
                                                      AccountTemplate.name == name))
        if row is not None:
            db.delete(row)
    return Response(status_code=204)
