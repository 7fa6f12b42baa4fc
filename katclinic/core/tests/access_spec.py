from katclinic.access_spec import Url

SPEC = {
    "core:home": Url("public", ok=(302,)),
    "core:healthz": Url("public", ok=(200, 503), anonymous=(200, 503)),
}
