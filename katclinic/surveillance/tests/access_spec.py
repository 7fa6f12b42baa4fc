from katclinic.access_spec import Url

SPEC: dict[str, Url] = {}
