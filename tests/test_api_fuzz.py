"""A bounded schemathesis run over the service's own OpenAPI schema, with and without a listener's token,
every check on: no generated request may get a 5xx, and every answer (its status, headers, content type and
body) must be one the schema documents. In-process (ASGI), over a library in a temporary folder."""
import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency")
from hypothesis import HealthCheck, settings  # noqa: E402

from genrefuse.library.library import Library  # noqa: E402
from genrefuse.library.users import create_user  # noqa: E402
from genrefuse.service.app import create_app  # noqa: E402

_DIR = Path(tempfile.mkdtemp(prefix="genrefuse-fuzz-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
_LIB = Library.open(_DIR / "lib", "default")
with _LIB.Session() as _s:
    _, TOKEN = create_user(_s, "fuzzer", ["rock"], _LIB.vocabulary)
# the wrong-token limit is tested on its own (test_service.py); here it would answer 429 to the auth probes
APP = create_app(_LIB, max_upload_mb=1, allowed_hosts=["*"], wrong_tokens_per_minute=10**9, signups_per_hour=10**9)
# A request the schema allows may still be refused for what no schema can say: bytes that are not audio
# (415), an empty file (400), a genre name the vocabulary does not know (422). Those answers are documented;
# everything else a valid request gets must be a success, 401, 403, 404 or 409.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "415",
                                                                   "422"]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)

pytestmark = pytest.mark.xdist_group("fuzz")


@pytest.mark.parametrize("token", [None, TOKEN], ids=["anonymous", "listener"])
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_server_errors(case, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    case.call_and_validate(headers=headers)
