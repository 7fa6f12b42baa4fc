"""The main navigation and the chart's tab bar, built once per set of roles, still follow
each user's roles and write the markup their templates wrote."""

from django.template import engines
from django.templatetags.static import static
from django.urls import reverse

from katclinic.accounts.models import User
from katclinic.clinics.context_processors import navigation_html
from katclinic.clinics.templatetags.frame import frame_static
from katclinic.patients.views import tab_bar_html
from katclinic.testing import ClinicTestCase

# The loops the templates held before the markup was built in Python.
NAVIGATION_LOOP = (
    '{% for label, url in navigation %}<li><a href="{{ url }}">{{ label }}</a></li>{% endfor %}'
)
TAB_LOOP = (
    '{% for tab in tabs %}<a href="{{ tab.url }}"{% if tab.current %} aria-current="page"'
    "{% endif %}>{{ tab.label }}</a>{% endfor %}"
)


def render(source: str, **context: object) -> str:
    return engines["django"].from_string(source).render(context)


class NavigationTest(ClinicTestCase):
    def nav_of(self, user: User) -> str:
        self.login(user)
        html = self.client.get(reverse("core:worklist")).content.decode()
        return html[html.index('<nav aria-label="Main">') : html.index("</nav>")]

    def test_each_role_keeps_its_own_links_in_one_process(self) -> None:
        admin = self.nav_of(self.adam)
        front_desk = self.nav_of(self.alice)
        admin_again = self.nav_of(self.adam)
        self.assertIn(f'<a href="{reverse("audit:list")}">Audit trail</a>', admin)
        self.assertIn(f'<a href="{reverse("clinics:staff")}">Staff</a>', admin)
        self.assertNotIn("Audit trail", front_desk)
        self.assertNotIn(reverse("clinics:staff"), front_desk)
        self.assertIn(f'<a href="{reverse("patients:list")}">Patients</a>', front_desk)
        self.assertEqual(admin, admin_again)

    def test_the_navigation_is_the_markup_the_template_loop_wrote(self) -> None:
        for user in (self.adam, self.alice, self.nick, self.paula, self.tara):
            self.login(user)
            response = self.client.get(reverse("core:worklist"))
            navigation = response.context["navigation"]
            expected = render(NAVIGATION_LOOP, navigation=navigation)
            self.assertEqual(str(response.context["navigation_html"]), expected)
            self.assertIn(f"<ul>\n          {expected}\n        </ul>", response.content.decode())
        odd = [("Notes & <plans>", '/a/?x=1&y="2"')]
        self.assertEqual(navigation_html(odd), render(NAVIGATION_LOOP, navigation=odd))
        self.assertEqual(
            navigation_html(odd),
            '<li><a href="/a/?x=1&amp;y=&quot;2&quot;">Notes &amp; &lt;plans&gt;</a></li>',
        )

    def test_the_frame_is_shown_only_to_staff_past_both_factors(self) -> None:
        self.login(self.nick)
        staff = self.client.get(reverse("core:worklist")).content.decode()
        self.assertIn('<nav aria-label="Main">', staff)
        self.assertIn('id="alert-banner"', staff)
        self.assertIn('<form class="global-search"', staff)
        self.login(self.pat_user)
        patient = self.client.get(reverse("portal:home", args=[self.pat.pk])).content.decode()
        self.assertNotIn('<nav aria-label="Main">', patient)
        self.assertNotIn('id="alert-banner"', patient)
        self.client.logout()
        self.client.force_login(self.paula)  # the second factor not passed
        page = self.client.get(reverse("accounts:second_factor"), follow=True).content.decode()
        self.assertNotIn('<nav aria-label="Main">', page)
        self.assertNotIn('id="alert-banner"', page)

    def test_the_head_links_the_collected_static_files(self) -> None:
        for path in ("favicon.svg", "css/app.css", "vendor/htmx-2.0.11/htmx.min.js"):
            self.assertEqual(frame_static(path), static(path))
        self.login(self.nick)
        page = self.client.get(reverse("core:worklist")).content.decode()
        self.assertIn(f'<link rel="stylesheet" href="{static("css/app.css")}">', page)


class ChartTabsTest(ClinicTestCase):
    def test_the_chart_tabs_carry_the_patients_own_id(self) -> None:
        self.login(self.nick)
        for patient in (self.pat, self.quinn):
            html = self.client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
            self.assertIn(f'href="{reverse("dosing:patient_sessions", args=[patient.pk])}"', html)
            self.assertNotIn("987654321", html)

    def test_the_tab_bar_is_the_markup_the_template_loop_wrote(self) -> None:
        pages = (
            ("patients:chart", self.nick),
            ("dosing:patient_sessions", self.nick),
            ("portal:invite", self.adam),
            ("billing:account", self.adam),
        )
        for name, user in pages:
            self.login(user)
            for patient in (self.pat, self.quinn):
                response = self.client.get(reverse(name, args=[patient.pk]))
                tabs = response.context["tabs"]
                expected = render(TAB_LOOP, tabs=list(tabs))
                self.assertEqual(str(tabs.html), expected)
                html = response.content.decode()
                self.assertIn(
                    f'<nav class="tabs" aria-label="Chart sections">\n  {expected}\n</nav>', html
                )
                current = [t for t in tabs if t["current"]]
                self.assertEqual(len(current), 1, name)
                self.assertEqual(current[0]["url"], reverse(name, args=[patient.pk]))
                self.assertEqual(html.count('aria-current="page"'), 1, name)
                self.assertIn(f'<a href="{current[0]["url"]}" aria-current="page">', html)

    def test_each_role_sees_only_its_tabs(self) -> None:
        self.login(self.alice)
        front_desk = self.client.get(reverse("patients:chart", args=[self.pat.pk]))
        self.login(self.nick)
        nurse = self.client.get(reverse("patients:chart", args=[self.pat.pk]))
        sessions = reverse("dosing:patient_sessions", args=[self.pat.pk])
        self.assertNotIn(sessions, front_desk.context["tabs"].html)
        self.assertIn(sessions, nurse.context["tabs"].html)
        self.assertNotEqual(len(front_desk.context["tabs"]), len(nurse.context["tabs"]))

    def test_labels_and_links_are_escaped(self) -> None:
        odd = [
            {"label": "A & <b>", "url": '/x/?a=1&b="2"', "current": False},
            {"label": "Now", "url": "/y/", "current": True},
        ]
        self.assertEqual(tab_bar_html(odd), render(TAB_LOOP, tabs=odd))
