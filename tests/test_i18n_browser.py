"""Issue 11 acceptance in a real Chromium: a coordinator switches the interface to 中文 on
the login page, opens a screening, and sees Chinese labels, Chinese errors and Chinese
dates; the choice is remembered after logging out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from eligibility.models import Screening
from tests.factories.trialsite import PASSWORD
from tests.i18n_support import compile_catalogue

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True, scope="module")
def _compiled_catalogue():
    # The Chinese pages need the compiled catalogue (`make` builds it; a bare pytest may not).
    compile_catalogue()


def test_a_coordinator_screens_a_candidate_in_chinese(page, coordinator_pumch):
    today = timezone.localdate()
    page.goto("/accounts/login/")
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == "登录"

    page.get_by_label("用户名").fill(coordinator_pumch.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "工作台"

    page.get_by_role("link", name="筛选", exact=True).click()
    assert page.locator("h1").inner_text() == "筛选日志"
    page.get_by_role("link", name="新建筛选").click()

    # Errors first: a screening date in the future, no date of birth.
    page.get_by_label("筛选日期").fill((today + timedelta(days=3)).isoformat())
    page.get_by_label("性别").select_option(label="女")
    page.get_by_role("button", name="创建筛选").click()
    page.wait_for_load_state()
    summary = page.locator("main [data-error-summary]")
    assert summary.locator("p").inner_text() == "请更正下方标出的字段。未保存任何内容。"
    date_field = page.get_by_label("筛选日期")
    # The summary links each refused field (issue 19).
    links = summary.get_by_role("link", name="筛选日期")
    assert links.get_attribute("href") == f"#{date_field.get_attribute('id')}"
    assert summary.get_by_role("link", name="出生日期").get_attribute("href") == "#id_date_of_birth"
    assert date_field.get_attribute("aria-invalid") == "true"
    error = page.locator(f"#{date_field.get_attribute('aria-describedby')}")
    assert error.inner_text() == "该日期在未来。"
    assert page.locator("#id_date_of_birth_error").inner_text() == "这个字段是必填项。"
    assert not Screening.objects.exists()

    screened, day_0 = today - timedelta(days=1), today + timedelta(days=14)
    page.get_by_label("筛选日期").fill(screened.isoformat())
    page.get_by_label("出生日期").fill("2014-06-01")
    page.get_by_label("计划第0天").fill(day_0.isoformat())  # the term fixed in issue 19
    page.get_by_role("button", name="创建筛选").click()
    page.wait_for_load_state()

    screening = Screening.objects.get()
    assert f"筛选{screening.number}已创建。" in page.locator(".messages").inner_text()
    assert page.locator("h1").inner_text() == f"筛选 {screening.number}"
    header = page.locator("main p.text-muted").first.inner_text()
    assert f"筛选日期 {screened.year}年{screened.month}月{screened.day}日" in header
    assert page.get_by_role("heading", name="入选资格评估").count() == 1
    assert "不完整" in page.locator("[data-outcome]").inner_text()

    # A section of Yes / No / Not known yet questions, with its legends in Chinese and the
    # instrument's codes kept.
    page.get_by_role("link", name="编辑 干燥综合征分类条目（AECG 2002/日本1999）").click()
    assert page.locator("legend", has_text="AECG I – 眼部症状").count() == 1
    group = page.locator("#div_id_dry_eyes_daily_over_3_months")
    assert "每日眼干持续3个月以上" in group.inner_text()
    group.get_by_label("是").check()
    page.get_by_label("Schirmer I试验（mm/5 min）").fill("-4")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_load_state()
    assert page.locator(".invalid-feedback").count() >= 1
    page.get_by_label("Schirmer I试验（mm/5 min）").fill("3")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_load_state()
    assert "已保存。下方的评估结果已更新。" in page.locator(".messages").inner_text()
    screening.refresh_from_db()
    assert screening.dry_eyes_daily_over_3_months is True and screening.schirmer_mm_5min == 3

    # Logged out, the login page is still in Chinese: the choice is in a cookie.
    page.locator("nav .dropdown-toggle").click()
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "登录"
