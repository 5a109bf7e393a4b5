"""A bounded schemathesis run over the service's own OpenAPI schema, with and without a listener's token:
no generated request may get a 5xx. In-process (ASGI), over a library in a temporary folder."""
import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency")
from hypothesis import HealthCheck, settings  # noqa: E402

from genrefuse.library.ingest import Library  # noqa: E402
from genrefuse.library.users import create_user  # noqa: E402
from genrefuse.service.app import create_app  # noqa: E402

_DIR = Path(tempfile.mkdtemp(prefix="genrefuse-fuzz-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
_LIB = Library.open(_DIR / "lib", "default")
with _LIB.Session() as _s:
    _, TOKEN = create_user(_s, "fuzzer", ["rock"], _LIB.vocabulary)
APP = create_app(_LIB, max_upload_mb=1, allowed_hosts=["*"])
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

pytestmark = pytest.mark.xdist_group("fuzz")


@pytest.mark.parametrize("token", [None, TOKEN], ids=["anonymous", "listener"])
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_server_errors(case, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:300])
