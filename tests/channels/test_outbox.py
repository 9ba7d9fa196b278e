"""The development outbox (herald/channels/devproviders.py): one file per message."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from herald.channels.base import OutgoingMessage
from herald.channels.devproviders import OutboxProvider
from herald.channels.email import message_id
from herald.kinds import Channel

SENDER = "Prêts <prets@example.org>"
SUBJECT = "Caméra 📷 Sony — à rendre"
TEXT = "Bonjour Adélaïde,\n\nLa Caméra 📷 Sony — à rendre demain à 10 h.\n"
HTML = "<p>Bonjour Adélaïde,</p><p>La <b>Caméra 📷 Sony</b> — à rendre demain.</p>"


def email_message(key: str = "loan-42:loan.reminder_j1@20261124T090000Z:email") -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.EMAIL,
        to="ada@example.org",
        subject=SUBJECT,
        text=TEXT,
        html=HTML,
        key=key,
    )


def sms_message(key: str = "loan-42:loan.reminder_2h@20261124T090000Z:sms") -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.SMS,
        to="+33612345678",
        subject="",
        text="Caméra 📷 Sony — à rendre dans 2 h.",
        html=None,
        key=key,
    )


def files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file())


def test_email_becomes_a_parseable_eml(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path / "outbox", SENDER)
    receipt = outbox.send(email_message())

    [path] = files(tmp_path / "outbox")
    assert path.suffix == ".eml"
    assert "-email-ada@example.org-" in path.name
    assert receipt.provider == "outbox"
    assert receipt.message_id == path.name

    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert str(msg["Subject"]) == SUBJECT
    assert str(msg["From"]) == SENDER
    assert str(msg["To"]) == "ada@example.org"
    assert msg["Message-ID"] == message_id(email_message().key, SENDER)
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    assert plain.get_content().strip() == TEXT.strip()
    assert html.get_content().strip() == HTML


def test_default_sender(tmp_path: Path) -> None:
    OutboxProvider(tmp_path).send(email_message())
    [path] = files(tmp_path)
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert str(msg["From"]) == "Herald <herald@localhost>"


def test_sms_becomes_a_txt_file(tmp_path: Path) -> None:
    receipt = OutboxProvider(tmp_path).send(sms_message())
    [path] = files(tmp_path)
    assert path.suffix == ".txt"
    assert "-sms-+33612345678-" in path.name
    assert receipt.message_id == path.name
    content = path.read_text("utf-8")
    assert content == "To: +33612345678\nChannel: sms\n\nCaméra 📷 Sony — à rendre dans 2 h.\n"


def test_whatsapp_becomes_a_txt_file(tmp_path: Path) -> None:
    message = OutgoingMessage(
        channel=Channel.WHATSAPP,
        to="+33698765432",
        subject="",
        text="Merci ✨",
        html=None,
        key="loan-42:loan.returned:whatsapp",
    )
    OutboxProvider(tmp_path).send(message)
    [path] = files(tmp_path)
    assert path.suffix == ".txt"
    assert "Channel: whatsapp" in path.read_text("utf-8")


def test_same_key_twice_writes_one_file(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path)
    first = outbox.send(email_message())
    again = outbox.send(email_message())
    assert len(files(tmp_path)) == 1
    assert first == again

    sms_first = outbox.send(sms_message())
    sms_again = outbox.send(sms_message())
    assert len(files(tmp_path)) == 2
    assert sms_first == sms_again


def test_different_keys_write_different_files(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path)
    receipts = [
        outbox.send(email_message(key=f"loan-42:loan.overdue#{n}@20261124T090000Z:email"))
        for n in (1, 2, 3)
    ]
    assert len(files(tmp_path)) == 3
    assert len({r.message_id for r in receipts}) == 3
    ids = {
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Message-ID"]
        for p in files(tmp_path)
    }
    assert len(ids) == 3


def test_no_temporary_files_left_behind(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path / "deep" / "outbox")  # created on first send
    outbox.send(email_message())
    outbox.send(email_message())
    outbox.send(sms_message())
    names = [p.name for p in files(tmp_path / "deep" / "outbox")]
    assert len(names) == 2
    assert not any(name.endswith(".tmp") for name in names)


def test_stale_temporary_file_from_a_crash_is_not_taken_for_the_message(tmp_path: Path) -> None:
    # A crash between writing the .tmp file and renaming it leaves the .tmp behind; the
    # retry (same key) must still produce the real .eml, not report the .tmp as sent.
    outbox = OutboxProvider(tmp_path)
    outbox.send(email_message())
    [done] = files(tmp_path)
    stale = done.with_name(done.name + ".tmp")
    done.rename(stale)  # as if os.replace never ran

    receipt = outbox.send(email_message())
    emls = [p for p in files(tmp_path) if p.suffix == ".eml"]
    assert len(emls) == 1
    assert receipt.message_id == emls[0].name


def test_file_names_stay_bounded_whatever_the_address(tmp_path: Path) -> None:
    """A 300-character address would make a name the file system refuses; the name keeps
    64 safe characters of it and the key's hash, and a retry still finds the file."""
    outbox = OutboxProvider(tmp_path / "outbox", SENDER)
    long_to = "a" * 290 + "@example.org"
    message = dataclasses.replace(email_message(), to=long_to)
    receipt = outbox.send(message)
    [path] = files(tmp_path / "outbox")
    assert receipt.message_id == path.name and len(path.name) < 120
    assert "a" * 64 in path.name and "a" * 65 not in path.name
    assert outbox.send(message).message_id == path.name  # same key: same file, not a second
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert str(parsed["To"]) == long_to


def test_a_non_ascii_local_part_is_written_as_utf8(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path / "outbox", SENDER)
    outbox.send(dataclasses.replace(email_message(), to="anaïs@example.org"))
    [path] = files(tmp_path / "outbox")
    assert b"To: ana\xc3\xafs@example.org" in path.read_bytes()
    assert "ana_s@example.org" in path.name
