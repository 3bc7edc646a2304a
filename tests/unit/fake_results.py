"""Stand-ins for testinfra's File and CommandResult, for HostContext fakes in unit tests (no SSH
and no running Asterisk here)."""
import re
import shlex

# The two shell forms HostContext sends (audit/hostctx.py): a file read in one round trip, and
# a batch of commands framed by marker lines. test_audit_batch.py runs both in a real shell.
_READ = re.compile(r"^if \[ -f (\S+) \]; then printf Y; cat \S+; else printf N; fi$")
_BATCH = re.compile(r'echo (voipguard-batch-[0-9a-f]+); \((.*?)\); echo "\1 rc=\$\?"')


class FakeFile:
    def __init__(self, text):
        self.exists = self.is_file = text is not None
        self.is_directory = False
        self.content_string = text


class FakeResult:
    def __init__(self, stdout, rc=0, stderr=""):
        self.stdout, self.rc, self.stderr = stdout, rc, stderr
        self.stdout_bytes = stdout.encode()


class FakeHost:
    """A testinfra host stand-in over a dict of files; subclasses answer other commands in
    run_one(command) (one command, as a shell would run it)."""

    def __init__(self, files):
        self.files = files

    def file(self, path):
        return FakeFile(self.files.get(path))

    def run(self, command):
        read = _READ.match(command)
        if read:
            text = self.files.get(shlex.split(read.group(1))[0])
            return FakeResult("N" if text is None else "Y" + text)
        framed = _BATCH.findall(command)
        if framed:
            out = ""
            for marker, inner in framed:
                result = self.run_one(inner)
                out += "%s\n%s%s rc=%d\n" % (marker, result.stdout, marker, result.rc)
            return FakeResult(out)
        return self.run_one(command)

    def run_one(self, command):
        raise AssertionError("unexpected command: %s" % command)
