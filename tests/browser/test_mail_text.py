"""Reading a mail from the text of its ``article`` on the mailbox page."""

from __future__ import annotations

from conformance.browser.pages import parse_mail

TO = "v5@conformance.test"


def test_labelled_lines_then_the_body_with_the_code_on_its_own_line() -> None:
    text = (
        f"To: {TO}\nSubject: Email Verification\nHello,\n\n"
        "Use this code to verify your email address:\n\n    200838\n\n"
        "The code expires in 10 minutes."
    )
    mail = parse_mail(text, TO)
    assert (mail.to, mail.subject, mail.code) == (TO, "Email Verification", "200838")
    assert mail.body.startswith("Hello,")


def test_labels_and_values_in_separate_cells() -> None:
    text = f"To\n{TO}\nSubject\nEmail Verification\nReceived\n2000000020\nYour code is 048213."
    mail = parse_mail(text, TO)
    assert (mail.to, mail.subject, mail.code) == (TO, "Email Verification", "048213")
    assert mail.body == "Your code is 048213."


def test_digits_inside_words_or_addresses_are_not_a_code() -> None:
    mail = parse_mail("To: agent123456@example.com\nSubject: Welcome\nOrder ref A123456B.", TO)
    assert mail.to == "agent123456@example.com"
    assert mail.code is None
