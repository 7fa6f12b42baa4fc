"""Links by id, reversed once per URL name: the same paths as ``reverse``."""

from django.test import SimpleTestCase
from django.urls import reverse, set_script_prefix

from katclinic.lib.links import id_url, id_url_maker


class IdUrlTest(SimpleTestCase):
    def test_each_link_is_the_reversed_path_under_any_script_prefix(self) -> None:
        names = ("scheduling:appointment", "scheduling:move", "patients:chart", "dosing:session")
        try:
            for prefix in ("/", "/clinic/"):
                set_script_prefix(prefix)
                for name in names:
                    make = id_url_maker(name)
                    for pk in (1, 42, 987654321, 10**12):
                        with self.subTest(prefix=prefix, name=name, pk=pk):
                            self.assertEqual(make(pk), reverse(name, args=[pk]))
                            self.assertEqual(id_url(name, pk), reverse(name, args=[pk]))
        finally:
            set_script_prefix("/")
