"""Billing settings: which pathway the clinic uses for esketamine and what it proposes."""

from katclinic.clinics.registry import define_bool

GROUP = "Billing"

BUY_AND_BILL = define_bool(
    key="billing.esketamine_buy_and_bill",
    label="The clinic buys esketamine devices and bills the drug (buy-and-bill); off when a "
    "specialty pharmacy bills the drug",
    default=True,
    source="Spravato acquisition pathways, buy-and-bill or specialty pharmacy (Janssen, "
    "Spravato HCP site 2026, https://www.spravatohcp.com/)",
    verified=False,
    group=GROUP,
)
MONITORING_CODES = define_bool(
    key="billing.propose_monitoring_hours",
    label="Propose hourly in-person monitoring codes (0820T) for ketamine infusions",
    default=False,
    source="CPT Category III 0820T-0822T, continuous in-person monitoring during psychedelic "
    "medication therapy, effective 1 January 2024 (AMA CPT Category III codes 2024, "
    "https://www.ama-assn.org/practice-management/cpt/category-iii-codes); whether payers accept "
    "them for ketamine is payer by payer",
    verified=False,
    group=GROUP,
)
