from katclinic.access_spec import Url

SPEC = {
    "clinics:choose": Url("staff_any", ok=(200,)),
}
