"""``scanner-app sign-in / sell / sales / reprint / void`` (in process, through ``cli.main``)
against the real server over a real socket: JSON out, clear errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from scanner_app.cli import main
from tests.box_office.conftest import BoxWorld
from tests.box_office.pdf import qr_texts
from tests.scanner_core.real_server import LiveServer


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, object]:
    status = main(["--data-dir", str(data_dir), *args])
    out = capsys.readouterr().out
    return status, json.loads(out) if out.strip() else None


def test_sell_prints_the_tickets_as_json_and_refuses_with_exit_codes(
    capsys: pytest.CaptureFixture[str], world: BoxWorld, live: LiveServer, data_dir: Path,
    tmp_path: Path, qtbot: object,
) -> None:
    status, answer = run(capsys, data_dir, "sell", "--tier", "VIP", "--code", "1234")
    assert status == 1 and answer["error"] == "not_paired"  # type: ignore[index]
    with httpx.Client(base_url=live.url, timeout=5.0) as client:
        world.pair(data_dir, client)
    code = world.code()
    status, answer = run(capsys, data_dir, "sell", "--tier", "VIP", "--code", code)
    assert status == 1 and answer["error"] == "not_signed_in"  # type: ignore[index]
    status, answer = run(capsys, data_dir, "sign-in", "--email", world.email, "--code",
                         world.wrong_code())
    assert status == 1 and answer["error"] == "wrong_seller_code"  # type: ignore[index]
    status, answer = run(capsys, data_dir, "sign-in", "--email", world.email, "--code", code)
    assert status == 0 and answer["signed_in"] is True  # type: ignore[index]

    pdf = tmp_path / "sale.pdf"
    status, sold = run(capsys, data_dir, "sell", "--tier", "Weekend pass=2", "--tier", "VIP",
                       "--code", code, "--cash", "120", "--buyer", "Ann Lee",
                       "--contact", "ann@example.com", "--pdf", str(pdf))
    assert status == 0, sold
    assert sold["sold"] is True and sold["mode"] == "online"  # type: ignore[index]
    assert (sold["total_cents"], sold["change_cents"]) == (11000, 1000)  # type: ignore[index]
    tokens = [t["token"] for t in sold["tickets"]]  # type: ignore[index]
    assert len(tokens) == 3 and sorted(t for page in qr_texts(pdf) for t in page) == sorted(tokens)

    for bad, error in [(["--tier", "Balcony"], "bad_tier"), (["--tier", "VIP=x"], "bad_tier"),
                       (["--tier", "VIP", "--cash", "5"], "not_enough_cash"),
                       (["--tier", "VIP", "--contact", "nobody@"], "bad_contact")]:
        status, answer = run(capsys, data_dir, "sell", *bad, "--code", code)
        assert status == 1 and answer["error"] == error, (bad, answer)  # type: ignore[index]
        assert answer["message"]  # type: ignore[index]
    with pytest.raises(SystemExit) as usage:
        main(["--data-dir", str(data_dir), "sell", "--code", code])  # no --tier
    assert usage.value.code == 2
    capsys.readouterr()

    sale_id = sold["sale_id"]  # type: ignore[index]
    again = tmp_path / "again.pdf"
    status, answer = run(capsys, data_dir, "reprint", sale_id, "--pdf", str(again), "--receipt")
    assert status == 0 and sorted(qr_texts(again)[0]) == sorted(tokens)
    status, answer = run(capsys, data_dir, "void", sale_id, "--reason", "wrong night")
    assert status == 0 and answer["state"] == "voided"  # type: ignore[index]
    status, answer = run(capsys, data_dir, "void", sale_id, "--reason", "again")
    assert status == 1 and answer["error"] == "not_completed"  # type: ignore[index]
    status, answer = run(capsys, data_dir, "sales")
    assert status == 0 and answer["totals"]["voided_sales"] == 1  # type: ignore[index]
