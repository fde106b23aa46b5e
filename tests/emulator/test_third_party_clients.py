"""Clients nobody here wrote, unmodified: fast_bitrix24 (webhook) and b24pysdk (HTTPS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from b24pysdk import BitrixWebhook, Client
from fast_bitrix24 import Bitrix

from emulator import Portal
from emulator.server import RunningServer, serve_in_thread
from emulator.tls import make_local_tls


def test_fast_bitrix24_through_a_webhook(portal, server):
    client = Bitrix(server.webhook_url("testhook"), verbose=False)
    for index in range(60):
        portal.as_user(1).create_deal(f"Deal {index}")
    deals = client.get_all("crm.deal.list", {"select": ["ID", "TITLE"]})
    assert len(deals) == 60 and {d["TITLE"] for d in deals} >= {"Deal 0", "Deal 59"}
    by_id = client.get_by_ID("crm.deal.get", [1, 2])
    assert sorted(by_id) == ["1", "2"]
    deal_id = client.call("crm.deal.add", {"fields": {"TITLE": "from fast_bitrix24"}})
    assert portal.deal(deal_id)["TITLE"] == "from fast_bitrix24"
    client.call("crm.deal.update", [{"id": 1, "fields": {"STAGE_ID": "WON"}}])
    assert portal.deal(1)["CLOSED"] == "Y"
    task = client.call("tasks.task.add", {"fields": {"TITLE": "fb", "RESPONSIBLE_ID": 1}})
    assert task["title"] == "fb"
    tasks = client.get_all("tasks.task.list", {"select": ["ID", "TITLE"]})
    assert [t["title"] for t in tasks] == ["fb"]
    batch = client.call_batch({"halt": 0, "cmd": {
        "me": "user.current", "deal": "crm.deal.get?id=1"}})
    assert batch["me"]["ID"] == "1" and batch["deal"]["STAGE_ID"] == "WON"


@pytest.fixture
def https_server(tmp_path, monkeypatch) -> Iterator[RunningServer]:
    tls = make_local_tls(str(tmp_path / "tls"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls.ca_bundle)
    running = serve_in_thread(Portal(limits=False, webhook_code="sdkhook"), tls=tls)
    yield running
    running.stop()


def test_b24pysdk_over_https(https_server):
    portal = https_server.portal
    assert https_server.url.startswith("https://")
    client = Client(BitrixWebhook(domain=f"127.0.0.1:{https_server.port}",
                                  webhook_token="1/sdkhook"))
    deal_id = client.crm.deal.add(fields={"TITLE": "from b24pysdk"}).result
    assert client.crm.deal.get(bitrix_id=deal_id).result["TITLE"] == "from b24pysdk"
    assert client.crm.deal.update(bitrix_id=deal_id, fields={"STAGE_ID": "WON"}).result
    listed = client.crm.deal.list(select=["ID", "CLOSED"]).result
    assert listed == [{"ID": str(deal_id), "CLOSED": "Y"}]
    task = client.tasks.task.add(fields={"TITLE": "sdk task", "RESPONSIBLE_ID": 1}).result
    task_id = int(task["task"]["id"])
    assert client.tasks.task.start(task_id=task_id).result["task"]
    read = client.tasks.task.get(task_id=task_id, select=["ID", "TITLE", "REAL_STATUS"])
    assert read.result["task"] == {"id": str(task_id), "title": "sdk task", "realStatus": "3"}
    tasks = client.tasks.task.list(select=["ID", "REAL_STATUS"]).result["tasks"]
    assert tasks == [{"id": task["task"]["id"], "realStatus": "3"}]
    batch = client.call_batch({"deal": client.crm.deal.get(bitrix_id=deal_id),
                               "me": client.user.current()}).result
    assert batch.result["deal"]["ID"] == str(deal_id) and batch.result["me"]["ID"] == "1"
    assert portal.call_log.count("batch") == 1
