"""Which relying party id and origins the settings accept (no database)."""

from unittest import TestCase

from katclinic.accounts.relying_party import (
    RelyingPartyError,
    check,
    default_origins,
    default_rp_id,
)


class RelyingPartyTest(TestCase):
    def test_the_default_id_is_the_first_host_name(self) -> None:
        self.assertEqual(
            default_rp_id(["10.0.0.5", "[::1]", "*", ".Clinic.Example.org"]), "clinic.example.org"
        )
        self.assertEqual(default_rp_id(["127.0.0.1"]), "")

    def test_default_origins(self) -> None:
        self.assertEqual(
            default_origins("clinic.example.org", local=True, port="8000"),
            ["https://clinic.example.org"],
        )
        self.assertEqual(
            default_origins("localhost", local=True, port="8123"),
            ["https://localhost", "http://localhost:8123"],
        )
        self.assertEqual(
            default_origins("localhost", local=False, port="8123"), ["https://localhost"]
        )

    def test_origins_off_the_host_or_without_https_are_refused(self) -> None:
        check(
            "clinic.example.org",
            ["https://clinic.example.org", "https://app.clinic.example.org:8443"],
        )
        for rp_id, origins in (
            ("clinic.example.org", ["https://clinic.example.org.evil.net"]),
            ("clinic.example.org", ["http://clinic.example.org"]),
            ("clinic.example.org", ["https://clinic.example.org/login"]),
            ("10.0.0.5", ["https://10.0.0.5"]),
            ("", ["https://clinic.example.org"]),
        ):
            with self.subTest(rp_id=rp_id, origins=origins), self.assertRaises(RelyingPartyError):
                check(rp_id, origins)
