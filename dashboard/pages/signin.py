"""Sign-in with an API key (scope read or higher), and sign-out."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from dashboard.blueprint import bp
from dashboard.session import (
    UNKNOWN_KEY,
    page_response,
    safe_next,
    sign_in,
    sign_out,
    signed_in,
    signed_in_key,
)
from server.auth import public


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in_page():
    # A POST got past the blueprint's CSRF check first: a sign-in forged by another site fails.
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if signed_in_key() is not None:
            return redirect(target)
        return render_template("sign_in.html", next=target, problem=None)
    info, problem = sign_in(request.form.get("key", "").strip())
    if info is None:
        return page_response("sign_in.html", 401 if problem == UNKNOWN_KEY else 403, next=target,
                             problem=problem)
    return redirect(target, 303)


@bp.post("/sign-out")
@signed_in()
def sign_out_submit():
    sign_out()
    return redirect(url_for("dashboard.sign_in_page"), 303)
