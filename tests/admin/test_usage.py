"""The admin's usage page: who opens it, from where, and what its charts say."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from foundation import roles
from foundation.admin import change_url
from foundation.usage import services
from foundation.usage.models import Metric
from tests.browser import chromium_page, sign_in

pytestmark = pytest.mark.django_db

URL = "/admin/usage/"
SCREENSHOT = "/tmp/admin-usage.png"
TODAY = datetime.now(UTC).date()


def seed(environment, days: int = 30) -> None:
    """A month of a small service: a few uploads a day, steady viewing, one live show."""
    for n in range(days):
        day = TODAY - timedelta(days=days - 1 - n)
        add = {"environment_id": environment.id, "day": day}
        services.counter_add(metric=Metric.DELIVERY_BYTES, amount=(n % 7 + 1) * 250_000_000,
                             **add)
        services.counter_add(metric=Metric.PROCESSING_MS, dimension="encode",
                             amount=(n % 5 + 1) * 40_000, **add)
        services.counter_add(metric=Metric.PROCESSING_MS, dimension="static_renditions",
                             amount=3_000, **add)
        services.counter_add(metric=Metric.STORAGE_BYTES, dimension="originals",
                             amount=80_000_000, **add)
        services.counter_add(metric=Metric.STORAGE_BYTES, dimension="renditions",
                             amount=60_000_000, **add)
        if n % 7 == 3:
            services.counter_add(metric=Metric.LIVE_MS, amount=5_400_000, **add)
            services.counter_add(metric=Metric.RECORDING_MS, amount=5_395_000, **add)


def tooltips(html: str) -> list[str]:
    return re.findall(r"<title>([^<]+)</title>", html)


def test_support_staff_see_each_day_in_charts_and_figures(member, environment):
    seed(environment)
    page = member(roles.SUPPORT).get(URL, {"environment": environment.id}).content.decode()

    assert page.count('<figure class="usage-chart">') == 5
    shown = tooltips(page)
    assert f"{TODAY.isoformat()} delivered: 500 MB" in shown  # day 29: (29 % 7 + 1) x 250 MB
    assert f"{TODAY.isoformat()} originals: 2.4 GB" in shown  # 30 days of 80 MB, at its end
    assert f"{TODAY.isoformat()} encode: 3 min 20 s" in shown
    assert "live" in page and "1 h 30 min" in page
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", page)
    assert rows[0] == TODAY.isoformat() and len(rows) == 30


def test_a_shorter_period_and_another_environment_are_a_click_away(admin_client, environment,
                                                                    other_environment):
    seed(environment, days=10)
    page = admin_client.get(URL, {"environment": other_environment.id, "days": 7}).content.decode()

    assert "Usage of staging" in page
    assert len(re.findall(r"<tr><td>\d{4}-", page)) == 7
    assert not any("delivered" in t for t in tooltips(page))  # staging delivered nothing
    assert f'?environment={environment.id}&amp;days=7' in page


def test_the_environment_page_and_the_index_link_to_it(admin_client, environment):
    environment_page = admin_client.get(change_url(environment)).content.decode()
    index = admin_client.get("/admin/").content.decode()

    assert f'href="{URL}?environment={environment.id}"' in environment_page
    assert f'href="{URL}"' in index


def test_editors_neither_see_the_link_nor_open_the_page(member):
    editor = member(roles.EDITORS)

    assert f'href="{URL}"' not in editor.get("/admin/").content.decode()
    assert editor.get(URL).status_code == 403


def test_people_outside_the_console_are_sent_to_sign_in(outsider_client):
    assert outsider_client.get(URL)["Location"].startswith("/admin/login/")


def test_the_page_reads_at_1400_px_in_chromium(live_server, environment, django_user_model):
    roles.sync_roles()
    user = django_user_model.objects.create_user("ops", password="ops-pw-1", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.SUPPORT))
    seed(environment)

    with chromium_page() as page:
        page.set_viewport_size({"width": 1400, "height": 900})
        sign_in(page, live_server.url, "ops", "ops-pw-1", then=URL)
        page.screenshot(path=SCREENSHOT, full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        widths = page.evaluate("""() => [...document.querySelectorAll('.usage-chart svg')]
            .map(svg => Math.round(svg.getBoundingClientRect().width))""")
        bars = page.evaluate("document.querySelectorAll('.usage-chart rect').length")

    assert overflow <= 0
    assert len(widths) == 5 and min(widths) >= 900
    # Delivery, two job types, two kinds of storage each day; a live show on 4 days.
    assert bars == 30 + 60 + 60 + 4 + 4
