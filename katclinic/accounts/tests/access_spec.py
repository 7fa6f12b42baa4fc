from katclinic.access_spec import Url

SPEC = {
    "accounts:login": Url("public", anonymous=(200,)),
    "accounts:second_factor": Url("signed_in", ok=(200, 302)),
    "accounts:setup_second_factor": Url("signed_in", ok=(200, 302)),
    "accounts:logout": Url("signed_in", method="POST", ok=(302,)),
}
