# The read-API contract tests (test_api.py) run with the catalogue cache off and on.
from tests.catalogue_contract import api_client, pytest_generate_tests  # noqa: F401
