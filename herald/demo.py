"""``herald demo``: a few loans on the demo policy, so reminders flow within minutes.

The demo policy compresses days into seconds (see ``herald/policies/demo.json``): a
3-minute loan gets its J-2, J-1 and due-day reminders, then overdue alerts with the
manager's copies; another is returned late and thanked; a short one gets its 2-hour
reminder 30 seconds before it is due.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from herald.settings import Settings

FOLLOW_FOR = timedelta(minutes=4)


async def run_demo(settings: Settings, *, follow: bool = True, client: Client | None = None) -> int:
    from starter.client import Herald

    herald = await Herald.connect(settings.model_copy(update={"policy": "demo"}), client=client)
    try:
        await herald.upsert_subscriber(
            "demo-camille",
            name="Camille Martin",
            email="camille@example.org",
            phone="+33612345678",
            locale="fr",
            timezone="Europe/Paris",
        )
        await herald.upsert_subscriber(
            "demo-jordan",
            name="Jordan Lee",
            email="jordan@example.com",
            locale="en",
            timezone="America/New_York",
        )
        await herald.upsert_subscriber(
            "demo-manager",
            name="Sam Responsable",
            email="manager@example.org",
            locale="fr",
            timezone="Europe/Paris",
        )
        await herald.set_preferences("demo-camille", sms=True)
        now = datetime.now(UTC)
        run = now.strftime("%H%M%S")
        loans = [
            (f"demo-{run}-long", "demo-camille", "Caméra Sony FX3 📷", now + timedelta(minutes=3)),
            (
                f"demo-{run}-late",
                "demo-jordan",
                "Tripod Manfrotto",
                now + timedelta(minutes=2, seconds=30),
            ),
            (f"demo-{run}-short", "demo-camille", "Micro Zoom H5", now + timedelta(seconds=90)),
        ]
        for loan_id, borrower, item, due in loans:
            await herald.start_loan(
                loan_id, borrower_id=borrower, item=item, due_at=due, manager_id="demo-manager"
            )
            print(f"started {loan_id}: {item} for {borrower}, due {due:%H:%M:%S} UTC")
        print("Watch them in the Temporal UI; messages land in", settings.resolved_outbox_dir)
        if not follow:
            return 0
        seen: set[int] = set()
        returned = False
        deadline = now + FOLLOW_FOR
        while datetime.now(UTC) < deadline:
            if not returned and datetime.now(UTC) > loans[1][3] + timedelta(seconds=40):
                await herald.return_loan(loans[1][0], wait=False)
                print(f"returned {loans[1][0]} (late)")
                returned = True
            for row in await herald.deliveries():
                if row["id"] in seen or not str(row["subject_id"]).startswith(f"demo-{run}"):
                    continue
                if row["status"] in ("pending",):
                    continue
                seen.add(row["id"])
                print(
                    f"{datetime.now(UTC):%H:%M:%S} {row['subject_id']:22} {row['kind']:17} "
                    f"{row['role']:8} {row['channel']:8} {row['status']:9} {row['error'] or ''}"
                )
            await asyncio.sleep(2)
        return 0
    finally:
        herald.close()
