"""The simulator's demo credentials: the one place they are written down.

They open the simulator only; no vendor accepts them. `outbound run --sim` uses them by itself;
for `outbound sim serve`, export them as `outbound sim serve` prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

ISALES_AK = "demo-isales-ak"
ISALES_SK = "demo-isales-sk-4c1f9e"
SPEECH_APP_ID = "99845aaaaebd4d61acccc9b776208f12"  # the app id of the vendor page's example
SPEECH_PRIVATE_KEY_FILE = HERE / "demo-speech-private-key.pem"
SPEECH_PUBLIC_KEY = (HERE / "demo-speech-public-key.pem").read_text(encoding="ascii")
CRM_API_KEY = "demo-crm-key-7d2a"

# What the simulated vendors accept.
ISALES_KEYS = {ISALES_AK: ISALES_SK}
SPEECH_PUBLIC_KEYS = {SPEECH_APP_ID: SPEECH_PUBLIC_KEY}
CRM_KEYS = frozenset({CRM_API_KEY})

ENVIRONMENT = {  # the variables the shipped playbooks read, for `outbound sim serve`
    "ISALES_AK": ISALES_AK,
    "ISALES_SK": ISALES_SK,
    "SPEECH_APP_ID": SPEECH_APP_ID,
    "SPEECH_PRIVATE_KEY_FILE": str(SPEECH_PRIVATE_KEY_FILE),
    "CRM_API_KEY": CRM_API_KEY,
}


def for_scheme(scheme: str) -> dict[str, Any]:
    """Credentials for one auth scheme, as `outbound run --sim` uses them."""
    return {
        "huawei-c2": {"ak": ISALES_AK, "sk": ISALES_SK},
        "rsa-sign": {"app_id": SPEECH_APP_ID,
                     "private_key": SPEECH_PRIVATE_KEY_FILE.read_text(encoding="ascii")},
        "api-key": {"api_key": CRM_API_KEY},
    }.get(scheme, {})
