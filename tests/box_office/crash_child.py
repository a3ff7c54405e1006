"""A desk selling offline in a loop until it is killed (tests/box_office/test_crash.py).

Usage: python -m tests.box_office.crash_child DATA_DIR TIER_ID CODE
Prints each sale id once the sale is stored (flushed), so the parent knows what was done.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from scanner_app.core.box_office import Cart, SaleRefused, build_request, tiers_by_id
from tests.box_office.conftest import open_desk_on


def main() -> None:
    data_dir, tier_id, code = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    # nothing listens on port 9: every request fails at once, as in a venue without internet
    desk = open_desk_on(data_dir, httpx.Client(base_url="http://127.0.0.1:9", timeout=1.0))
    while True:
        request = build_request(tiers_by_id(desk.tiers()), Cart().add(tier_id, 1), code=code,
                                cash="")
        try:
            sale = desk.sell(request)
        except SaleRefused:
            print("out", flush=True)
            return
        print(sale.sale_id, flush=True)


if __name__ == "__main__":
    main()
