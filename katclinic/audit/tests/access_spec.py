from katclinic.access_spec import Url
from katclinic.clinics.permissions import Perm

SPEC = {
    "audit:list": Url(Perm.VIEW_AUDIT),
}
