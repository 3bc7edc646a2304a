"""The audit reads a PBX's configuration through the hardening modules' own loader
(module_utils/asterisk_conf.load, with functions that read over the host's connection): the same
includes, brace patterns, templates and reference checks, so both judge the same sections."""
import pytest

from ansible.module_utils import asterisk_conf
from ansible.module_utils.asterisk_conf import AsteriskConfigError
from audit.hostctx import HostContext
from tests.unit.test_asterisk_booleans import FilesOnlyHost

FILES = {
    "/etc/asterisk/pjsip.conf": "[global]\ntype=global\n#include pjsip.d/*.conf\n#tryinclude pjsip_{custom,local}.conf\n",
    "/etc/asterisk/pjsip.d/10-templates.conf": "[phone](!)\ntype=endpoint\ncontext=from-internal\n",
    "/etc/asterisk/pjsip.d/20-phones.conf": "[1001](phone)\nallow=ulaw\n[1002](phone)\ncontext=office\n",
    "/etc/asterisk/pjsip_local.conf": "[1001](+type=endpoint)\nallow_unauthenticated_options=yes\n",
}


def effective(configs, name):
    return asterisk_conf.resolve(configs, name, "endpoint")


def test_the_audit_and_the_modules_read_the_same_configuration(tmp_path):
    for path, text in FILES.items():
        local = tmp_path / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text)
    on_disk = asterisk_conf.load(str(tmp_path / "etc/asterisk/pjsip.conf"))
    over_ssh = HostContext(FilesOnlyHost(FILES), "pbx").config("pjsip.conf")
    assert [c.filename.replace(str(tmp_path), "") for c in on_disk] == [c.filename for c in over_ssh]
    for name in ("1001", "1002"):
        assert effective(on_disk, name) == effective(over_ssh, name)
    assert effective(over_ssh, "1001")["allow_unauthenticated_options"] == ["yes"]
    assert effective(over_ssh, "1002")["context"][-1] == "office"  # the last value is the one Asterisk keeps


def test_the_audit_refuses_what_asterisk_would_refuse():
    broken = dict(FILES)
    broken["/etc/asterisk/pjsip.d/20-phones.conf"] = "[1001](missing-template)\ntype=endpoint\n"
    with pytest.raises(AsteriskConfigError, match="missing-template"):
        HostContext(FilesOnlyHost(broken), "pbx").config("pjsip.conf")
