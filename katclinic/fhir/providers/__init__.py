"""Registrations of the resource types the facade serves, one module per source app.

Importing this package fills ``katclinic.fhir.registry.REGISTRY``, in this order.
"""

from katclinic.fhir.providers import patients, questionnaires  # noqa: F401, I001
from katclinic.fhir.providers import dosing, intake, measures, scheduling  # noqa: F401
from katclinic.fhir.providers import billing  # noqa: F401
from katclinic.fhir.providers import chart, directory, insurance  # noqa: F401
from katclinic.fhir.providers import protocols  # noqa: F401
