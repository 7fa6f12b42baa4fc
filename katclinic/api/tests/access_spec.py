from katclinic.access_spec import Url

SPEC = {
    "api:openapi-json": Url("public", ok=(200,), anonymous=(200,)),
    "api:api-root": Url("public", ok=(200, 401, 404), anonymous=(200, 401, 404)),
}
