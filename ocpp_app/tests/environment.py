"""The environment every test run starts with, set before Django reads its
settings (loaded as a plugin by pytest.ini's `-p`, ahead of pytest-django).

- The suite never touches the data directory of an installation (its
  SECRET_KEY, charger CA, secrets key): one of its own per run, shared by the
  test process and the servers it starts, removed at the end.
- The failed-auth throttle counts per client address, and every test client
  is 127.0.0.1 (sharing Redis in the PostgreSQL pass): off unless a test
  turns it on (its settings, or OCPP_AUTH_THROTTLE=1 for a server it starts).
- Webhooks reach loopback addresses only: a test (or the API's fuzzing) that
  makes one for another host gets a 400, and no server it starts ever sends
  a request off this machine.
"""

import atexit
import os
import shutil
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="ocpp-test-data-")
os.environ["OCPP_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, True)
os.environ["OCPP_AUTH_THROTTLE"] = "0"
os.environ["OCPP_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.0/8,::1,localhost"
