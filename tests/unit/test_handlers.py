"""Handlers: a unique name each across all roles (a notify by name runs one handler), every
notify names a handler or a listen topic that exists, and a topic two roles listen to is
declared as voipguard's, so that sharing it is deliberate."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def handlers():
    found = []
    for path in sorted(ROOT.glob("roles/*/handlers/main.yml")):
        for handler in yaml.safe_load(path.read_text()) or []:
            listen = handler.get("listen") or []
            found.append((path.parts[-3], handler["name"], [listen] if isinstance(listen, str) else listen))
    return found


def notified(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        notify = task.get("notify") or []
        yield from ([notify] if isinstance(notify, str) else notify)
        for key in ("block", "rescue", "always"):
            yield from notified(task.get(key))


def test_handler_names_are_unique_across_roles():
    names = [name for _role, name, _listen in handlers()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_every_notify_reaches_a_handler():
    known = set(name for _role, name, _ in handlers()) | set(t for _r, _n, ts in handlers() for t in ts)
    for path in sorted(ROOT.glob("roles/*/tasks/*.yml")):
        for target in notified(yaml.safe_load(path.read_text())):
            assert target in known, (path.name, target)


def test_a_topic_shared_by_roles_is_voipguards():
    roles_by_topic = {}
    for role, _name, topics in handlers():
        for topic in topics:
            roles_by_topic.setdefault(topic, set()).add(role)
    shared = dict((t, r) for t, r in roles_by_topic.items() if len(r) > 1)
    assert shared, "the Asterisk logger reload is shared by fail2ban_asterisk and toll_fraud_guard"
    assert all(topic.startswith("voipguard ") for topic in shared), shared
    # A handler name is never also a topic: a notify by name would run the listeners too.
    names = set(name for _role, name, _ in handlers())
    assert not names & set(roles_by_topic)
