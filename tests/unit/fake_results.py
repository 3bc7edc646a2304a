"""Stand-ins for testinfra's File and CommandResult, for HostContext fakes in unit tests (no SSH
and no running Asterisk here)."""


class FakeFile:
    def __init__(self, text):
        self.exists = self.is_file = text is not None
        self.is_directory = False
        self.content_string = text


class FakeResult:
    def __init__(self, stdout, rc=0, stderr=""):
        self.stdout, self.rc, self.stderr = stdout, rc, stderr
