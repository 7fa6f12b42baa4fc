"""The tabs of the patient chart. Apps add theirs in AppConfig.ready()."""

from dataclasses import dataclass

from katclinic.clinics.permissions import Perm


@dataclass(frozen=True)
class ChartTab:
    key: str
    label: str
    url_name: str  # takes the patient id as its one argument
    perm: Perm


TABS: list[ChartTab] = [ChartTab("overview", "Overview", "patients:chart", Perm.VIEW_DEMOGRAPHICS)]


def register(tab: ChartTab) -> None:
    if all(existing.key != tab.key for existing in TABS):
        TABS.append(tab)
