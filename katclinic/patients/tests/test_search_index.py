"""Patient search through an index: the same patients as the rule read row by row.

PatientQuerySet.matching is the rule alone; PatientQuerySet.search takes its rows from
the trigram index (PostgreSQL) or the trigram table kept by triggers (SQLite) first.
"""

from datetime import date

from django.db import connection

from katclinic.fhir.tests.base import FhirTestCase
from katclinic.lib import rows
from katclinic.patients.models import SEARCH_CANDIDATES_SQL, Patient, _digits_only

# (first, last, record number, email, phone, date of birth)
PEOPLE = [
    ("Zoe", "Xu", "K000101", "zoe.xu@example.com", "555-0123", date(1990, 1, 2)),
    ("Ali", "Patel", "K000102", "Ali.Patel@Example.com", "(555) 010-4477", date(1985, 4, 12)),
    ("Alina", "Patelski", "k000103", "", "+1 555 010 4478", date(1979, 12, 31)),
    ("Émile", "Dubois", "K000104", "emile@example.fr", "555.019.9999", date(2000, 2, 29)),
    ("émile", "Ångström", "A-77", "", "", date(1960, 6, 1)),
    ("Mary-Jo", "O'Brien", "50%OFF", "mj_ob@example.org", "5550104477", date(1985, 4, 12)),
    ("Pat", 'Quo"te', "K_0001", "", "555-0101 x12", date(1999, 9, 9)),
    ("Ann", "Annan", "K000109", "ann@example.com", "555-0101", date(1971, 3, 3)),
    ("Joanna", "Hannah", "K000110", "", "", date(1971, 3, 4)),
]

QUERIES = [
    # short: under a trigram, answered by the rule alone
    "x",
    "Xu",
    "xu",
    "al",
    "P",
    "K",
    # names, mixed case, several words, substrings that are not prefixes
    "Ali",
    "ALI",
    "ali",
    "pat",
    "Patel",
    "PATELSKI",
    "patel zoe",
    "zoe xu",
    "ann",
    "anna",
    "nna",
    "han",
    "Mary-Jo",
    "mary",
    "o'brien",
    "O'Br",
    'quo"te',
    '"',
    '"quo',
    "Émile",
    "émile",
    "ÉMILE",
    "emile",
    "Ångström",
    "ångström",
    "Dub ois",
    "Doe",
    "Roe",
    "roe quinn",
    "Stranger",
    "sam",
    # record numbers, with LIKE's wildcards taken literally
    "K000102",
    "k000102",
    "K000103",
    "K0001",
    "K000001",
    "K000002",
    "A-77",
    "a-77",
    "50%OFF",
    "50%",
    "%",
    "_",
    "K_0001",
    "K%0001",
    # dates of birth, in the forms date.fromisoformat reads
    "1985-04-12",
    "19850412",
    "2000-02-29",
    "1971-03-04",
    "1985-04-13",
    "1985",
    # email addresses
    "zoe.xu@example.com",
    "ZOE.XU@EXAMPLE.COM",
    "ali.patel@example.com",
    "mj_ob@example.org",
    "mj%ob@example.org",
    "@example.com",
    "a@b",
    # phone numbers, typed with any punctuation
    "555-0123",
    "5550123",
    "0123",
    "555",
    "(555) 010-4477",
    "555-010-4477",
    "010 4477",
    "4477",
    "4478",
    "+1 555",
    "555.019",
    "0101",
    "555-0101",
    "12",
    # nothing matches
    "nobody",
    "zzzz zzzz",
    "K999999",
    "1900-01-01",
    "000-0000",
    "   ",
    "",
]


class SearchIndexTest(FhirTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for clinic in (cls.clinic, cls.other_clinic):
            for first, last, mrn, email, phone, born in PEOPLE:
                Patient.objects.create(
                    clinic=clinic,
                    mrn=mrn,
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=phone,
                    date_of_birth=born,
                )

    def assertSameAsRule(self, query: str) -> set[int]:
        clinic = Patient.objects.for_clinic(self.clinic)
        found = set(clinic.search(query).values_list("pk", flat=True))
        expected = set(clinic.matching(query).values_list("pk", flat=True))
        self.assertEqual(found, expected, f"search({query!r})")
        self.assertFalse(
            found & set(Patient.objects.exclude(clinic=self.clinic).values_list("pk", flat=True)),
            f"search({query!r}) returned another clinic's patients",
        )
        return found

    def test_the_indexed_search_finds_exactly_what_the_rule_finds(self) -> None:
        matched = 0
        for query in QUERIES:
            with self.subTest(query=query):
                matched += bool(self.assertSameAsRule(query))
        # Most queries find someone, so the comparison is not between two empty sets.
        self.assertGreater(matched, len(QUERIES) * 2 // 3)

    def test_the_same_holds_across_clinics_and_in_the_api_and_page(self) -> None:
        for query in ("Patel", "k000102", "555-010-4477", "1985-04-12", "Xu"):
            with self.subTest(query=query):
                every = set(Patient.objects.search(query).values_list("pk", flat=True))
                rule = set(Patient.objects.matching(query).values_list("pk", flat=True))
                self.assertEqual(every, rule)
                self.assertEqual(
                    {p.clinic_id for p in Patient.objects.filter(pk__in=every)},
                    {self.clinic.pk, self.other_clinic.pk},
                )
        self.login(self.alice)
        page = self.client.get("/patients/", {"q": "patel"}).context["page"]
        self.assertEqual(
            [(p.last_name, p.first_name) for p in page], [("Patel", "Ali"), ("Patelski", "Alina")]
        )
        self.assertEqual(page.paginator.count, 2)

    def test_a_registered_renamed_or_removed_patient_is_searched_as_they_now_are(self) -> None:
        clinic = Patient.objects.for_clinic(self.clinic)
        robin = self.make_patient(self.clinic, "Robin", "Hartley", "K000777")
        self.assertEqual(list(clinic.search("hartley")), [robin])
        Patient.objects.filter(pk=robin.pk).update(
            last_name="Okonkwo", phone="(555) 777-1234", email="Robin@Example.net", mrn="K000778"
        )
        self.assertEqual(list(clinic.search("hartley")), [])
        for query in ("okonk", "5557771234", "robin@example.net", "k000778"):
            with self.subTest(query=query):
                self.assertEqual(list(clinic.search(query)), [robin])
        self.assertEqual(list(clinic.search("K000777")), [])
        robin.date_of_birth = date(1991, 7, 8)
        robin.save()
        self.assertEqual(list(clinic.search("1991-07-08")), [robin])
        robin.delete()
        self.assertEqual(list(clinic.search("okonk")), [])
        if connection.vendor == "sqlite":
            left = rows.fetch_all(
                Patient, SEARCH_CANDIDATES_SQL, ['{first_name last_name} : "okonk"']
            )
            self.assertEqual(left, [])

    def test_the_trigram_table_holds_the_phone_as_the_rule_compares_it(self) -> None:
        if connection.vendor != "sqlite":
            self.skipTest("the trigram table is SQLite's; PostgreSQL indexes the expression")
        stored = dict(
            rows.fetch_all(Patient, "SELECT rowid, phone_digits FROM patients_patient_search", [])
        )
        annotated = dict(
            Patient.objects.annotate(digits=_digits_only("phone")).values_list("pk", "digits")
        )
        self.assertEqual(stored, annotated)
        self.assertEqual(len(stored), Patient.objects.count())

    def test_a_search_reads_its_candidates_from_the_index(self) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                found = Patient.objects.for_clinic(self.clinic).search("Patel")
                sql, params = found.order_by("last_name").query.sql_with_params()
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = " ".join(str(row[-1]) for row in cursor.fetchall())
                self.assertIn("VIRTUAL TABLE", plan)
                self.assertNotIn("SCAN patients_patient ", f"{plan} ")
                return
            # Told not to read the table row by row, the planner must find an index for
            # every arm of the rule: the trigram indexes are on the rule's own expressions.
            cursor.execute("SET LOCAL enable_seqscan = off")
            for query, indexes in (
                ("Patel", ("mrn", "first", "last")),
                ("555-010-4477", ("mrn", "first", "last", "phone")),
                ("ali.patel@example.com", ("mrn", "first", "last", "email")),
            ):
                sql, params = Patient.objects.search(query).query.sql_with_params()
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = " ".join(row[0] for row in cursor.fetchall())
                with self.subTest(query=query):
                    self.assertNotIn("Seq Scan", plan)
                    for index in indexes:
                        self.assertIn(f"patient_search_{index}_trgm", plan)

    def test_the_fhir_name_search_finds_exactly_what_its_rule_finds(self) -> None:
        Patient.objects.filter(first_name="Ann").update(preferred_name="Nancy")
        clinic = Patient.objects.for_clinic(self.clinic)
        fields = ("last_name", "first_name", "preferred_name")
        matched = 0
        for values in (
            ["pat"],
            ["Patel", "xu"],
            ["nan"],
            ["NANCY"],
            ["émile"],
            ["ann", "joa"],
            ["%"],
            ["an"],
            [""],
            ["nobody"],
        ):
            for searched in (fields, fields[:1], fields[1:2]):
                with self.subTest(values=values, fields=searched):
                    found = set(clinic.names_starting(searched, values).values_list("pk"))
                    rule = clinic.names_starting(searched, values, indexed=False)
                    self.assertEqual(found, set(rule.values_list("pk")))
                    matched += bool(found)
        self.assertGreater(matched, 10)
        ids = {e["resource"]["id"] for e in self.get("Patient", name="nanc").json()["entry"]}
        self.assertEqual(ids, {str(p.pk) for p in clinic.filter(preferred_name="Nancy")})
