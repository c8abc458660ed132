import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.template import Context, Template
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_home_page_in_chinese_by_default_and_english_on_request(client):
    zh = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert zh.status_code == 200
    assert '<html lang="zh-hans">' in zh.content.decode()
    assert "登录" in zh.content.decode()
    en = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8")
    assert '<html lang="en">' in en.content.decode()
    assert "Log in" in en.content.decode()


def test_language_switcher_sets_the_language(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert '<html lang="en">' in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()


def test_pages_load_nothing_from_other_hosts(client):
    html = client.get("/").content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert all(not u.startswith(("http://", "https://", "//")) for u in urls), urls


SIGNUP = {
    "email": "New.Buyer@Example.com",
    "first_name": "Xiao",
    "last_name": "Ming",
    "phone": "13900000000",
    "password1": "a-long-unique-pass-77",
    "password2": "a-long-unique-pass-77",
}


@pytest.fixture
def eager_tasks():
    from marketplace.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def _signup(client, capture, data=SIGNUP):
    with capture(execute=True):
        return client.post("/accounts/signup/", data, HTTP_ACCEPT_LANGUAGE="en")


def _link(message) -> str:
    return re.search(r"http://\S+(/accounts/signup/confirm/\S+/)", message.body).group(1)


def test_signup_sends_a_link_that_creates_the_buyer_and_logs_in(
    client, eager_tasks, django_capture_on_commit_callbacks
):
    response = _signup(client, django_capture_on_commit_callbacks)
    assert (response.status_code, response["Location"]) == (302, "/accounts/signup/done/")
    assert User.objects.count() == 0  # nothing before the address is confirmed
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["new.buyer@example.com"], "Confirm your e-mail address to create your account")
    ]
    link = _link(mail.outbox[0])
    assert "Check your e-mail" in client.get("/accounts/signup/done/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Opening the link (or a mail scanner fetching it) creates nothing; the button does.
    assert client.get(link).status_code == 200
    assert User.objects.count() == 0
    confirmed = client.post(link)
    assert (confirmed.status_code, confirmed["Location"]) == (302, "/")
    user = User.objects.get()
    assert (user.email, user.first_name, user.last_name, user.phone, user.is_staff, user.is_active) == (
        "new.buyer@example.com",
        "Xiao",
        "Ming",
        "13900000000",
        False,
        True,
    )
    assert user.check_password("a-long-unique-pass-77")
    assert client.get("/api/v1/auth/me/").json()["email"] == "new.buyer@example.com"


def test_signup_with_a_taken_email_answers_the_same_and_tells_the_owner(
    client, eager_tasks, django_capture_on_commit_callbacks
):
    owner = UserFactory(email="new.buyer@example.com", first_name="Old")
    taken = _signup(client, django_capture_on_commit_callbacks)
    fresh = _signup(Client(), django_capture_on_commit_callbacks, {**SIGNUP, "email": "other@example.com"})
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert (taken.status_code, taken["Location"]) == (302, "/accounts/signup/done/")
    owner_mail = mail.outbox[0]
    assert (owner_mail.to, owner_mail.subject) == (
        ["new.buyer@example.com"],
        "Someone tried to sign up with your e-mail address",
    )
    assert "http://127.0.0.1:8000/accounts/password-reset/" in owner_mail.body
    assert "/accounts/signup/confirm/" not in owner_mail.body
    assert User.objects.count() == 1
    owner.refresh_from_db()
    assert (owner.first_name, owner.check_password(PASSWORD)) == ("Old", True)
    assert client.get("/api/v1/auth/me/").status_code == 401


def test_a_signup_link_works_once(client, eager_tasks, django_capture_on_commit_callbacks):
    _signup(client, django_capture_on_commit_callbacks)
    link = _link(mail.outbox[0])
    assert client.post(link).status_code == 302
    again = Client().post(link, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 409
    assert "This account exists already. Log in." in again.content.decode()
    assert User.objects.count() == 1


def test_a_tampered_or_expired_signup_link_creates_nothing(
    client, settings, eager_tasks, django_capture_on_commit_callbacks
):
    _signup(client, django_capture_on_commit_callbacks)
    link = _link(mail.outbox[0])
    tampered = link.replace("/confirm/", "/confirm/x")
    response = client.post(tampered, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "This sign-up link is not valid." in response.content.decode()
    settings.SIGNUP_LINK_VALID_HOURS = 0
    response = client.post(link, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "This sign-up link has expired." in response.content.decode()
    assert User.objects.count() == 0


def test_signup_with_mismatched_passwords_changes_nothing(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "x@example.com", "password1": "a-long-unique-pass-77", "password2": "another-pass-88"},
    )
    assert response.status_code == 400
    assert User.objects.count() == 0


def test_login_and_logout(client):
    UserFactory(email="a@example.com")
    response = client.post("/accounts/login/", {"username": "A@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/v1/auth/me/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405  # logging out needs a POST
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/api/v1/auth/me/").status_code == 401


def test_login_locks_out_after_five_failures(client):
    UserFactory(email="a@example.com")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "a@example.com", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "a@example.com", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert client.get("/api/v1/auth/me/").status_code == 401
    # Another account from the same address is not affected.
    UserFactory(email="b@example.com")
    assert client.post("/accounts/login/", {"username": "b@example.com", "password": PASSWORD}).status_code == 302


def test_password_reset_sends_a_link_that_works(client):
    UserFactory(email="a@example.com")
    response = client.post("/accounts/password-reset/", {"email": "a@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "brand-new-pass-42", "new_password2": "brand-new-pass-42"})
    assert done.status_code == 302
    client.logout()
    login = client.post("/accounts/login/", {"username": "a@example.com", "password": "brand-new-pass-42"})
    assert login.status_code == 302


def test_password_reset_for_an_unknown_email_sends_nothing(client):
    response = client.post("/accounts/password-reset/", {"email": "ghost@example.com"})
    assert response.status_code == 302  # same answer: addresses cannot be probed
    assert mail.outbox == []


def test_404_page_is_ours(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_500_page_renders_without_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "500" in html


def test_portal_base_template_renders(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    request = rf.get("/portal/")
    request.user = AnonymousUser()
    html = render_to_string("portal/base.html", request=request)
    assert "portal-layout" in html


def test_prices_are_shown_as_yuan():
    rendered = Template("{{ a|yuan }} {{ b|yuan }}").render(Context({"a": "1234.5", "b": None}))
    assert rendered == "¥1,234.50 "


def test_pages_send_a_strict_content_security_policy(client):
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_or_admin_helper_has_inline_script_or_style():
    """The policy refuses them: behaviour belongs in static/js, looks in static/css."""
    from pathlib import Path

    from django.conf import settings

    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|\bstyle=|<style", re.IGNORECASE)
    base = settings.BASE_DIR
    roots = [base / "templates", *(base / app / "admin" for app in ("catalog", "merchants", "settlements"))]
    files = [p for root in roots for p in Path(root).rglob("*") if p.suffix in {".html", ".py"}]
    files += [base / "marketplace" / "admin_tools.py", base / "marketplace" / "admin.py", base / "orders" / "admin.py"]
    offenders = [f"{p}: {m.group(0)}" for p in files for m in inline.finditer(p.read_text())]
    assert offenders == []


def test_a_form_without_its_csrf_token_gets_the_403_page():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "You do not have access to this page" in response.content.decode()


@pytest.mark.parametrize(
    ("accept_language", "subject"),
    [("en", "Confirm your e-mail address to create your account"), ("zh-hans", "请确认您的电子邮件地址以创建账户")],
)
def test_the_signup_email_is_in_the_language_of_the_form(
    client, eager_tasks, django_capture_on_commit_callbacks, accept_language, subject
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/signup/", SIGNUP, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert [(m.to, m.subject) for m in mail.outbox] == [(["new.buyer@example.com"], subject)]
